// DirectoryTrust against what the directory-trust-resource function reads: the property names are
// taken from crates/trustflow-domain/src/custom_resource.rs, so a renamed or new property fails here.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import { DirectoryTrust, DirectoryTrustProps, DirectoryTrustServiceToken, TrustflowCode, TrustflowWorkflow } from '../lib';
import { REPO } from './fixture';

const RUST = fs.readFileSync(path.join(REPO, 'crates', 'trustflow-domain', 'src', 'custom_resource.rs'), 'utf8');

/** The properties the function accepts: PROPERTIES, the password's two, and those it reads by name. */
function rustPropertyNames(): string[] {
  const table = RUST.slice(RUST.indexOf('const PROPERTIES'), RUST.indexOf('];', RUST.indexOf('const PROPERTIES')));
  const names = [...table.matchAll(/\(\s*"([A-Z][A-Za-z0-9]+)",\s*"/g)].map((m) => m[1]);
  for (const constant of ['SECRET_ID', 'JSON_KEY']) {
    const match = RUST.match(new RegExp(`const ${constant}: \\(&str, &str\\) = \\("([A-Za-z0-9]+)"`));
    assert.ok(match, `${constant} in custom_resource.rs`);
    names.push(match[1]);
  }
  names.push(...[...RUST.matchAll(/name == "([A-Z][A-Za-z0-9]+)"/g)].map((m) => m[1]));
  const own = RUST.match(/const OWN: &\[&str\] = &\[([^\]]*)\]/);
  assert.ok(own, 'OWN in custom_resource.rs');
  names.push(...[...own[1].matchAll(/"([A-Za-z0-9]+)"/g)].map((m) => m[1]));
  return [...new Set(names)].sort();
}

/** The attributes the function answers with (Data). */
function rustAttributes(): string[] {
  return [...RUST.matchAll(/\("([A-Z][A-Za-z0-9]+)", "[a-z][A-Za-z0-9]*"\)/g)].map((m) => m[1]);
}

function workflowStack() {
  const app = new App();
  const stack = new Stack(app, 'trustflow');
  const workflow = new TrustflowWorkflow(stack, 'Trustflow', { code: TrustflowCode.placeholder() });
  return { app, stack, workflow };
}

const base: Omit<DirectoryTrustProps, 'serviceToken'> = {
  directoryId: 'd-1234567890',
  remoteDomainName: 'corp.example.com',
  trustDirection: 'Two-Way',
  conditionalForwarderIpAddrs: ['172.16.10.153'],
  trustPasswordSecret: 'trustflow/corp.example.com',
};

describe('DirectoryTrust', () => {
  it('every prop set: exactly the properties the function reads, nothing it would refuse', () => {
    const { stack, workflow } = workflowStack();
    const topic = new sns.Topic(stack, 'Identity');
    new DirectoryTrust(stack, 'Trust', {
      ...base,
      serviceToken: DirectoryTrustServiceToken.fromWorkflow(workflow),
      trustType: 'External',
      conditionalForwarderIpv6Addrs: ['fd00::53'],
      addIpRoutes: true,
      remoteDomainCidrs: ['172.16.10.0/24'],
      jsonKey: 'password',
      selectiveAuth: 'Enabled',
      preflight: 'warn',
      onExistingTrust: 'replace',
      waitFor: 'Verified',
      deleteConditionalForwarderOnDelete: true,
      serviceTimeout: Duration.minutes(50),
      notifyTopic: topic,
      requestedBy: 'alice@example.com',
    });
    const [resource] = Object.values(Template.fromStack(stack).findResources('Custom::DirectoryTrust'));
    assert.deepEqual(Object.keys(resource.Properties).sort(), rustPropertyNames());
    assert.equal(resource.Properties.ServiceTimeout, '3000');
    assert.equal(resource.Properties.TrustPasswordSecretId, 'trustflow/corp.example.com');
    assert.equal(resource.Properties.AddIpRoutes, true);
  });

  it('the service token of a workflow in the same stack, created after all of it', () => {
    const { stack, workflow } = workflowStack();
    const trust = new DirectoryTrust(stack, 'Trust', { ...base, serviceToken: DirectoryTrustServiceToken.fromWorkflow(workflow) });
    const template = Template.fromStack(stack);
    const fnId = stack.getLogicalId(workflow.functions['directory-trust-resource'].node.defaultChild as any);
    const machineId = stack.getLogicalId(workflow.stateMachine.node.defaultChild as any);
    template.hasResource('Custom::DirectoryTrust', {
      Properties: Match.objectLike({ ServiceToken: { 'Fn::GetAtt': [fnId, 'Arn'] }, DirectoryId: 'd-1234567890', TrustDirection: 'Two-Way' }),
      DependsOn: Match.arrayWith([machineId]),
    });
    const resourceId = stack.getLogicalId(trust.resource.node.defaultChild as any);
    assert.deepEqual(stack.resolve(trust.trustId), { 'Fn::GetAtt': [resourceId, 'TrustId'] });
    assert.deepEqual(stack.resolve(trust.trustState), { 'Fn::GetAtt': [resourceId, 'TrustState'] });
    assert.deepEqual(stack.resolve(trust.requestId), { 'Fn::GetAtt': [resourceId, 'RequestId'] });
    assert.deepEqual(stack.resolve(trust.remoteDomainName), { 'Fn::GetAtt': [resourceId, 'RemoteDomainName'] });
    for (const attribute of ['TrustId', 'TrustState', 'RequestId', 'RemoteDomainName']) {
      assert.ok(rustAttributes().includes(attribute), `the function answers ${attribute}`);
    }
  });

  it('the service token imported from a trustflow stack deployed on its own', () => {
    const stack = new Stack(new App(), 'portal');
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'Password', 'trustflow/corp.example.com');
    new DirectoryTrust(stack, 'Trust', { ...base, trustPasswordSecret: secret, serviceToken: DirectoryTrustServiceToken.fromStackExport('trustflow') });
    Template.fromStack(stack).hasResourceProperties('Custom::DirectoryTrust', {
      ServiceToken: { 'Fn::ImportValue': 'trustflow-DirectoryTrustServiceToken' },
      TrustPasswordSecretId: 'trustflow/corp.example.com',
    });
  });

  it("refuses, at synth, what the function would refuse: a secret outside the workflow's prefix", () => {
    const { stack, workflow } = workflowStack();
    assert.throws(
      () => new DirectoryTrust(stack, 'Trust', { ...base, trustPasswordSecret: 'other/corp', serviceToken: DirectoryTrustServiceToken.fromWorkflow(workflow) }),
      /not under the workflow's trustSecretNamePrefix 'trustflow\/'/,
    );
  });

  it("refuses waitFor 'Verified' for a One-Way: Incoming trust, and a serviceTimeout too short for it", () => {
    const { stack, workflow } = workflowStack();
    const serviceToken = DirectoryTrustServiceToken.fromWorkflow(workflow);
    assert.throws(() => new DirectoryTrust(stack, 'A', { ...base, serviceToken, trustDirection: 'One-Way: Incoming', waitFor: 'Verified' }), /One-Way: Incoming/);
    assert.throws(
      () => new DirectoryTrust(stack, 'B', { ...base, serviceToken, waitFor: 'Verified', serviceTimeout: Duration.seconds(330) }),
      /more than 330 s/,
    );
    assert.throws(() => new DirectoryTrust(stack, 'C', { ...base, serviceToken, serviceTimeout: Duration.hours(2) }), /1 hour/);
    new DirectoryTrust(stack, 'D', { ...base, serviceToken, waitFor: 'Verified', serviceTimeout: Duration.seconds(331) });
  });
});
