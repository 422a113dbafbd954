// RemoteDirectoryRole against other-account-role.yaml (the role the other account deploys): both
// evaluated (test/cfn-eval.ts) with the same parameter values and compared property by property.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, CfnElement, CfnParameter, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RemoteDirectoryRole, RemoteDirectoryRoleProps } from '../lib';
import { loadCloudFormationYaml } from '../lib/sam-template';
import { conditionValues, EvalContext, evaluate, parameterDefaults } from './cfn-eval';
import { REPO, resourcesOfType } from './fixture';

const file = loadCloudFormationYaml(path.join(REPO, 'other-account-role.yaml'));

/** Each parameter of other-account-role.yaml and the prop that mirrors it. */
const PROPS: Record<string, keyof RemoteDirectoryRoleProps> = {
  TrustflowRoleArns: 'trustflowRoleArns',
  ExternalId: 'externalId',
  DirectoryId: 'directoryId',
  RoleName: 'roleName',
};

const given: RemoteDirectoryRoleProps = {
  trustflowRoleArns: [
    'arn:aws:iam::111111111111:role/trustflow-ValidateRequestFunctionRole-AAAA',
    'arn:aws:iam::111111111111:role/trustflow-CreateTrustFunctionRole-BBBB',
    'arn:aws:iam::111111111111:role/trustflow-CheckTrustFunctionRole-CCCC',
  ],
  externalId: 'trustflow-prod:7f3a/2026',
  directoryId: 'd-0987654321',
};

function synth(props: RemoteDirectoryRoleProps) {
  const stack = new Stack(new App(), 'trustflow-role-d-0987654321');
  const construct = new RemoteDirectoryRole(stack, 'RemoteDirectoryRole', props);
  const json = Template.fromStack(stack).toJSON();
  // The construct's role stands for the file's RemoteDirectoryRole.
  const roleId = stack.resolve((construct.role.node.defaultChild as CfnElement).logicalId);
  const ctx: EvalContext = { parameters: {}, conditions: {}, names: { [roleId]: 'RemoteDirectoryRole' } };
  return { stack, construct, json, ctx };
}

function fileContext(props: RemoteDirectoryRoleProps): EvalContext {
  const values = parameterDefaults(file, {
    TrustflowRoleArns: props.trustflowRoleArns,
    ExternalId: props.externalId,
    DirectoryId: props.directoryId,
    ...(props.roleName === undefined ? {} : { RoleName: props.roleName }),
  });
  return { parameters: values, conditions: conditionValues(file, values), names: {}, identity: true };
}

describe('RemoteDirectoryRole (other-account-role.yaml)', () => {
  it('one prop per parameter of the file', () => {
    assert.deepEqual(Object.keys(file.Parameters).sort(), Object.keys(PROPS).sort());
  });

  it('the same resources: one role', () => {
    const { json } = synth(given);
    const types = (resources: Record<string, any>) => Object.values<any>(resources).map((r) => r.Type).sort();
    assert.deepEqual(types(json.Resources), types(file.Resources));
  });

  for (const [label, props] of [
    ['three roles, the default name', given],
    ['one role, a name of its own', { ...given, trustflowRoleArns: given.trustflowRoleArns.slice(0, 1), roleName: 'trustflow-pairs' }],
  ] as Array<[string, RemoteDirectoryRoleProps]>) {
    it(`the role's properties as the file's (${label}): trust policy, external id, pair-side policy, name, session`, () => {
      const { json, ctx } = synth(props);
      const [[, role]] = resourcesOfType(json, 'AWS::IAM::Role');
      const cdkProperties = evaluate(role.Properties, ctx);
      const fileProperties = evaluate(file.Resources.RemoteDirectoryRole.Properties, fileContext(props));
      // One principal: CDK writes it as a string, the file's list parameter as a list of one.
      const [statement] = cdkProperties.AssumeRolePolicyDocument.Statement;
      statement.Principal.AWS = [statement.Principal.AWS].flat();
      assert.deepEqual(cdkProperties, fileProperties);
      assert.deepEqual(statement.Principal.AWS, props.trustflowRoleArns);
      assert.deepEqual(statement.Condition, { StringEquals: { 'sts:ExternalId': props.externalId } });
    });
  }

  it('the output RoleArn, and the roleArn accessor', () => {
    const { stack, construct, json, ctx } = synth(given);
    const outputs = Object.values<any>(json.Outputs);
    assert.equal(outputs.length, Object.keys(file.Outputs).length);
    const e = (node: unknown) => evaluate(node, ctx);
    assert.equal(outputs[0].Description, file.Outputs.RoleArn.Description);
    assert.equal(e(outputs[0].Value), evaluate(file.Outputs.RoleArn.Value, fileContext(given)));
    assert.deepEqual(stack.resolve(construct.roleArn), outputs[0].Value);
    assert.equal(Object.keys(synth({ ...given, createOutputs: false }).json.Outputs ?? {}).length, 0);
  });

  it("a CommaDelimitedList parameter for the roles: the file's principal, as written", () => {
    const stack = new Stack(new App(), 'other');
    const roles = new CfnParameter(stack, 'TrustflowRoleArns', { type: 'CommaDelimitedList' });
    new RemoteDirectoryRole(stack, 'RemoteDirectoryRole', { ...given, trustflowRoleArns: roles.valueAsList });
    const [[, role]] = resourcesOfType(Template.fromStack(stack).toJSON(), 'AWS::IAM::Role');
    assert.deepEqual(
      role.Properties.AssumeRolePolicyDocument.Statement[0].Principal,
      file.Resources.RemoteDirectoryRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal,
    );
  });

  it("refuses what the file's parameters refuse", () => {
    const make = (props: Partial<RemoteDirectoryRoleProps>) => () => synth({ ...given, ...props });
    const accepts = (name: string, value: string) => {
      const parameter = file.Parameters[name];
      return (
        new RegExp(parameter.AllowedPattern).test(value) &&
        value.length >= (parameter.MinLength ?? 0) &&
        value.length <= (parameter.MaxLength ?? Infinity)
      );
    };
    const samples: Record<string, string[]> = {
      ExternalId: ['', 'a', 'ab', 'trustflow-prod:7f3a/2026', 'x'.repeat(1224), 'x'.repeat(1225), 'with space', 'under_score'],
      DirectoryId: ['d-0987654321', 'd-098765432', 'd-098765432A', 'D-0987654321', ''],
      RoleName: ['trustflow-remote-directories', 'a', 'r'.repeat(64), 'r'.repeat(65), 'with/slash', ''],
    };
    for (const [name, values] of Object.entries(samples)) {
      for (const value of values) {
        const build = make({ [PROPS[name]]: value });
        if (accepts(name, value)) {
          assert.doesNotThrow(build, `${name} '${value}'`);
        } else {
          assert.throws(build, new RegExp(`${PROPS[name]} must match`), `${name} '${value}'`);
        }
      }
    }
    assert.throws(make({ trustflowRoleArns: [] }), /trustflowRoleArns is empty/);
    assert.equal(file.Parameters.RoleName.Default, 'trustflow-remote-directories');
  });
});
