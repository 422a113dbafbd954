// DirectoryTrust: one trust, declared as the Custom::DirectoryTrust resource that the
// directory-trust-resource function serves (crates/trustflow-domain/src/custom_resource.rs reads
// these properties; an unknown property fails the stack naming it).
import { Annotations, CustomResource, Duration, Fn, Token } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { TrustflowWorkflow } from './workflow';

/** Where the Custom::DirectoryTrust function is. */
export class DirectoryTrustServiceToken {
  /** The function of a TrustflowWorkflow in the same app. */
  static fromWorkflow(workflow: TrustflowWorkflow): DirectoryTrustServiceToken {
    return new DirectoryTrustServiceToken(workflow.serviceToken, workflow);
  }

  /** The export of a trustflow stack deployed on its own (SAM or CDK): `<stackName>-DirectoryTrustServiceToken`. */
  static fromStackExport(trustflowStackName: string): DirectoryTrustServiceToken {
    return new DirectoryTrustServiceToken(Fn.importValue(`${trustflowStackName}-DirectoryTrustServiceToken`));
  }

  /** The function's ARN, as is. */
  static fromArn(functionArn: string): DirectoryTrustServiceToken {
    return new DirectoryTrustServiceToken(functionArn);
  }

  private constructor(
    /** The ServiceToken. */
    readonly token: string,
    /** The workflow it belongs to, when in the same app. */
    readonly workflow?: TrustflowWorkflow,
  ) {}
}

/** A trust's direction, as seen from the AWS directory. */
export type TrustDirection = 'Two-Way' | 'One-Way: Outgoing' | 'One-Way: Incoming';

/** Props of {@link DirectoryTrust}; each maps to one property of Custom::DirectoryTrust. */
export interface DirectoryTrustProps {
  /** Where the resource's function is: `DirectoryTrustServiceToken.fromWorkflow(workflow)` or `.fromStackExport('trustflow')`. */
  readonly serviceToken: DirectoryTrustServiceToken;
  /** DirectoryId: the AWS Managed Microsoft AD directory (d-...). */
  readonly directoryId: string;
  /** RemoteDomainName: the self-managed domain's FQDN. */
  readonly remoteDomainName: string;
  /** TrustDirection. */
  readonly trustDirection: TrustDirection;
  /** TrustType. @default 'Forest' (the function's default) */
  readonly trustType?: 'Forest' | 'External';
  /** ConditionalForwarderIpAddrs: 1-4 IPv4 addresses of the remote domain's DNS servers. */
  readonly conditionalForwarderIpAddrs?: string[];
  /** ConditionalForwarderIpv6Addrs: 1-4 IPv6 addresses of the same DNS servers. */
  readonly conditionalForwarderIpv6Addrs?: string[];
  /** AddIpRoutes: add /32 directory IP routes for forwarder addresses outside RFC 1918. @default false */
  readonly addIpRoutes?: boolean;
  /** RemoteDomainCidrs: the on-premises domain controllers' networks, for the network pre-flight. */
  readonly remoteDomainCidrs?: string[];
  /** The secret that holds the trust password (its name must start with the workflow's trustSecretNamePrefix), or its name. */
  readonly trustPasswordSecret: secretsmanager.ISecret | string;
  /** TrustPasswordJsonKey: the key of a JSON secret that holds the password. */
  readonly jsonKey?: string;
  /** SelectiveAuth. @default 'Disabled' (the function's default) */
  readonly selectiveAuth?: 'Enabled' | 'Disabled';
  /** Preflight: the network pre-flight. @default 'enforce' (the function's default) */
  readonly preflight?: 'enforce' | 'warn' | 'off';
  /** OnExistingTrust. @default 'keep' (the function's default) */
  readonly onExistingTrust?: 'keep' | 'replace';
  /** WaitFor: answer CloudFormation once the trust is Created, or only once AWS verified it. @default 'Created' */
  readonly waitFor?: 'Created' | 'Verified';
  /** DeleteConditionalForwarderOnDelete: deleting the resource deletes the domain's forwarder too. @default false */
  readonly deleteConditionalForwarderOnDelete?: boolean;
  /**
   * ServiceTimeout: how long CloudFormation waits for the answer (1 s to 1 hour). With waitFor 'Verified'
   * the workflow ends its wait for the remote side in time to answer within it.
   * @default CloudFormation's (1 hour)
   */
  readonly serviceTimeout?: Duration;
  /** NotifyTopicArn: a topic told the outcome too (in the workflow's account and Region). */
  readonly notifyTopic?: sns.ITopic;
  /** RequestedBy: who asked, for the notifications. */
  readonly requestedBy?: string;
}

/**
 * A trust between an AWS Managed Microsoft AD directory and a self-managed domain, created, changed
 * and deleted through the trustflow workflow (Custom::DirectoryTrust).
 */
export class DirectoryTrust extends Construct {
  /** The CustomResource. */
  readonly resource: CustomResource;
  /** The trust's id (t-...): GetAtt TrustId. */
  readonly trustId: string;
  /** The trust's state when CloudFormation was answered (Created, Verified, ...): GetAtt TrustState. */
  readonly trustState: string;
  /** The id of the workflow request behind the last change (cfn-...): GetAtt RequestId. */
  readonly requestId: string;
  /** The remote domain, as the function answered it: GetAtt RemoteDomainName. */
  readonly remoteDomainName: string;

  constructor(scope: Construct, id: string, props: DirectoryTrustProps) {
    super(scope, id);
    const secretId = typeof props.trustPasswordSecret === 'string' ? props.trustPasswordSecret : props.trustPasswordSecret.secretName;
    const workflow = props.serviceToken.workflow;
    if (workflow !== undefined && !Token.isUnresolved(secretId) && !Token.isUnresolved(workflow.trustSecretNamePrefix)) {
      if (!secretId.startsWith(workflow.trustSecretNamePrefix) && !secretId.startsWith('arn:')) {
        throw new Error(
          `DirectoryTrust ${id}: the secret '${secretId}' is not under the workflow's trustSecretNamePrefix '${workflow.trustSecretNamePrefix}': create-trust could not read it`,
        );
      }
    }
    if (props.waitFor === 'Verified' && props.trustDirection === 'One-Way: Incoming') {
      throw new Error(`DirectoryTrust ${id}: waitFor must be 'Created' for a One-Way: Incoming trust (AWS never verifies that direction)`);
    }
    // The function's own checks (crates/trustflow-domain/src/custom_resource.rs), made at synth time
    // where they can be: a stack that would fail on them fails `cdk synth` instead.
    const timeout = props.serviceTimeout?.toSeconds();
    if (timeout !== undefined && !Token.isUnresolved(timeout) && (timeout < 1 || timeout > 3600)) {
      throw new Error(`DirectoryTrust ${id}: serviceTimeout must be from 1 second to 1 hour (CloudFormation's limit for custom resources)`);
    }
    if (props.waitFor === 'Verified') {
      // With WaitFor: Verified the workflow stops waiting for the remote side in time to answer before
      // ServiceTimeout: that needs more than a re-verification interval and 30 s to answer.
      const reverify = workflow?.reverifyInterval.toSeconds();
      const effective = timeout ?? 3600;
      if (reverify !== undefined && !Token.isUnresolved(reverify) && !Token.isUnresolved(effective) && effective <= reverify + 30) {
        throw new Error(
          `DirectoryTrust ${id}: serviceTimeout must be more than ${reverify + 30} s for waitFor 'Verified' (a re-verification interval of ${reverify} s and 30 s to answer)`,
        );
      }
      Annotations.of(this).addInfo(
        "waitFor 'Verified': the stack waits until AWS verifies the trust (the on-premises side must be set up), at most serviceTimeout; then it fails saying the remote side is not ready.",
      );
    }
    const properties: Record<string, unknown> = {
      DirectoryId: props.directoryId,
      RemoteDomainName: props.remoteDomainName,
      TrustType: props.trustType,
      TrustDirection: props.trustDirection,
      ConditionalForwarderIpAddrs: props.conditionalForwarderIpAddrs,
      ConditionalForwarderIpv6Addrs: props.conditionalForwarderIpv6Addrs,
      AddIpRoutes: props.addIpRoutes,
      RemoteDomainCidrs: props.remoteDomainCidrs,
      Preflight: props.preflight,
      SelectiveAuth: props.selectiveAuth,
      NotifyTopicArn: props.notifyTopic?.topicArn,
      OnExistingTrust: props.onExistingTrust,
      RequestedBy: props.requestedBy,
      TrustPasswordSecretId: secretId,
      TrustPasswordJsonKey: props.jsonKey,
      WaitFor: props.waitFor,
      DeleteConditionalForwarderOnDelete: props.deleteConditionalForwarderOnDelete,
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: props.serviceToken.token,
      resourceType: 'Custom::DirectoryTrust',
      properties: Object.fromEntries(Object.entries(properties).filter(([, value]) => value !== undefined)),
      serviceTimeout: props.serviceTimeout,
    });
    if (workflow !== undefined) {
      // Created after, and deleted before, everything its requests go through (the state machine,
      // the functions, the result rule, the bus): not only the function the token names.
      this.resource.node.addDependency(workflow);
    }
    this.trustId = this.attribute('TrustId');
    this.trustState = this.attribute('TrustState');
    this.requestId = this.attribute('RequestId');
    this.remoteDomainName = this.attribute('RemoteDomainName');
  }

  private attribute(name: string): string {
    return this.resource.getAttString(name);
  }
}
