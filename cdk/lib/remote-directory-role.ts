// RemoteDirectoryRole: other-account-role.yaml as a CDK construct, for the other account's stack. The
// role a trustflow deployment assumes (its AllowedRemoteRoleArns, a request's remoteRoleArn) to create,
// follow and remove the other side of a pair of directories in this account. Checked against
// other-account-role.yaml by test/remote-directory-role.test.ts.
import { CfnOutput, Duration, Fn, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Props of {@link RemoteDirectoryRole}: the parameters of other-account-role.yaml, typed. */
export interface RemoteDirectoryRoleProps {
  /**
   * TrustflowRoleArns: the trustflow deployment's RemoteDirectoryCallerRoleArns output (the roles of its
   * validate, create and check functions, `TrustflowWorkflow.remoteDirectoryCallerRoleArns`). Only they
   * may assume this role.
   */
  readonly trustflowRoleArns: string[];
  /**
   * ExternalId: the trustflow deployment's RemoteRoleExternalId (2-1,224 characters of
   * A-Za-z0-9+=,.@:/-). A session without it is refused, so that no other deployment can use this
   * role through trustflow.
   */
  readonly externalId: string;
  /** DirectoryId: the AWS Managed Microsoft AD directory of this account that trustflow may pair (d-...). */
  readonly directoryId: string;
  /** RoleName: its ARN is what the trustflow deployment's AllowedRemoteRoleArns lists. @default 'trustflow-remote-directories' */
  readonly roleName?: string;
  /** The template's output RoleArn as a stack output. @default true */
  readonly createOutputs?: boolean;
}

/**
 * The trust policy of other-account-role.yaml: one statement, with its Sid, naming every trustflow role
 * and requiring the external id (a CompositePrincipal would make one statement per role).
 */
class TrustflowFunctionsPrincipal extends iam.PrincipalBase {
  constructor(
    private readonly roleArns: string[],
    private readonly externalId: string,
  ) {
    super();
  }

  get policyFragment(): iam.PrincipalPolicyFragment {
    return new iam.PrincipalPolicyFragment({ AWS: this.roleArns }, { StringEquals: { 'sts:ExternalId': this.externalId } });
  }

  addToAssumeRolePolicy(document: iam.PolicyDocument): void {
    document.addStatements(
      new iam.PolicyStatement({
        sid: 'TrustflowFunctionsWithTheExternalId',
        actions: [this.assumeRoleAction],
        principals: this.roleArns.map((arn) => new iam.ArnPrincipal(arn)),
        conditions: { StringEquals: { 'sts:ExternalId': this.externalId } },
      }),
    );
  }

  dedupeString(): string | undefined {
    return undefined;
  }

  toString(): string {
    return `TrustflowFunctions(${this.roleArns.length} roles)`;
  }
}

/**
 * trustflow's role in another account (other-account-role.yaml): lets a trustflow deployment create,
 * follow and remove the other side of a pair of AWS Managed Microsoft AD directories in this account.
 * Deploy it in the other directory's account and Region, one per directory; give its ARN to the
 * trustflow deployment's AllowedRemoteRoleArns (`allowedRemoteRoleArns`).
 */
export class RemoteDirectoryRole extends Construct {
  /** The role. */
  readonly role: iam.Role;
  /** Its ARN: what the trustflow deployment's AllowedRemoteRoleArns lists and requests name as remoteRoleArn. */
  readonly roleArn: string;

  constructor(scope: Construct, id: string, props: RemoteDirectoryRoleProps) {
    super(scope, id);
    const check = (name: string, value: string, pattern: RegExp) => {
      if (!Token.isUnresolved(value) && !pattern.test(value)) {
        throw new Error(`RemoteDirectoryRole ${id}: ${name} must match ${pattern.source} (got '${value}')`);
      }
    };
    // other-account-role.yaml's constraints (ExternalId: MinLength 2, MaxLength 1224 and the pattern).
    check('externalId', props.externalId, /^[A-Za-z0-9+=,.@:/-]{2,1224}$/);
    check('directoryId', props.directoryId, /^d-[0-9a-f]{10}$/);
    const roleName = props.roleName ?? 'trustflow-remote-directories';
    check('roleName', roleName, /^[A-Za-z0-9+=,.@_-]{1,64}$/);
    if (props.trustflowRoleArns.length === 0) {
      throw new Error(`RemoteDirectoryRole ${id}: trustflowRoleArns is empty (the trustflow deployment's RemoteDirectoryCallerRoleArns)`);
    }

    this.role = new iam.Role(this, 'Role', {
      roleName,
      description: "trustflow's access to one directory of this account, for the other side of a pair.",
      maxSessionDuration: Duration.hours(1),
      assumedBy: new TrustflowFunctionsPrincipal(props.trustflowRoleArns, props.externalId),
      inlinePolicies: {
        'pair-side': new iam.PolicyDocument({
          statements: [
            // DescribeDirectories and DescribeTrusts support no resource-level permissions
            // (Service Authorization Reference, AWS Directory Service).
            new iam.PolicyStatement({
              sid: 'DescribeWithoutResourceLevelPermissions',
              actions: ['ds:DescribeDirectories', 'ds:DescribeTrusts'],
              resources: ['*'],
            }),
            // The other side's trust: created with its conditional forwarder (CreateTrust's
            // ConditionalForwarderIpAddrs), verified, changed in place with the pair (UpdateTrust:
            // selective authentication), and deleted with its forwarder.
            new iam.PolicyStatement({
              sid: 'PairSideOfThisDirectory',
              actions: ['ds:CreateTrust', 'ds:VerifyTrust', 'ds:UpdateTrust', 'ds:DeleteTrust'],
              resources: [
                Fn.sub('arn:${AWS::Partition}:ds:${AWS::Region}:${AWS::AccountId}:directory/${DirectoryId}', {
                  DirectoryId: props.directoryId,
                }),
              ],
            }),
          ],
        }),
      },
    });
    this.roleArn = this.role.roleArn;
    if (props.createOutputs ?? true) {
      new CfnOutput(this, 'RoleArn', {
        description: "Add this to the trustflow stack's AllowedRemoteRoleArns; requests name it as remoteRoleArn.",
        value: this.roleArn,
      });
    }
  }
}
