// TrustflowWorkflow's props (each the SAM parameter of the same name, typed) and accessors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { App, Duration, Fn, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { TRUSTFLOW_BINARIES, TrustflowBinary, TrustflowCode, TrustflowWorkflow } from '../lib';
import { resourcesOfType, sam, synthWorkflow } from './fixture';

describe('TrustflowWorkflow props', () => {
  const app = new App();
  const stack = new Stack(app, 'identity');
  const bus = events.EventBus.fromEventBusName(stack, 'Shared', 'identity-bus');
  const alarms = sns.Topic.fromTopicArn(stack, 'OnCall', 'arn:aws:sns:us-east-1:123456789012:on-call');
  const asked: TrustflowBinary[] = [];
  const placeholder = TrustflowCode.placeholder();
  const workflow = new TrustflowWorkflow(stack, 'Trustflow', {
    code: (binary) => {
      asked.push(binary);
      return placeholder(binary);
    },
    trustSecretNamePrefix: 'corp-trusts/',
    trustDeadline: Duration.hours(1),
    remoteSideWindow: Duration.hours(12),
    pollInterval: Duration.seconds(5),
    maxPollInterval: Duration.minutes(1),
    reverifyInterval: Duration.minutes(2),
    executionTimeout: Duration.hours(14),
    deleteFailedTrusts: true,
    eventBus: bus,
    logLevel: 'DEBUG',
    logRetention: logs.RetentionDays.ONE_MONTH,
    allowedRequestSources: ['portal.identity'],
    alarmTopic: alarms,
    healthCheckReverify: true,
    namePrefix: 'idp',
  });
  const template = Template.fromStack(stack);
  const json = template.toJSON();
  const env = (binary: TrustflowBinary) => {
    const id = stack.getLogicalId(workflow.functions[binary].node.defaultChild as lambda.CfnFunction);
    return json.Resources[id].Properties.Environment?.Variables ?? {};
  };

  it('asks the code source once for each of the nine binaries', () => {
    assert.deepEqual([...asked].sort(), [...TRUSTFLOW_BINARIES].sort());
  });

  it('an existing bus and alarm topic: neither is created, both are used', () => {
    template.resourceCountIs('AWS::Events::EventBus', 0);
    template.resourceCountIs('AWS::KMS::Key', 0);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    assert.equal(env('notify-requester').RESULT_EVENT_BUS, 'identity-bus');
    for (const [, alarm] of resourcesOfType(json, 'AWS::CloudWatch::Alarm')) {
      assert.deepEqual(alarm.Properties.AlarmActions, ['arn:aws:sns:us-east-1:123456789012:on-call']);
    }
    template.hasResourceProperties('AWS::Events::Rule', {
      Name: 'idp-trust-requested',
      EventBusName: 'identity-bus',
      EventPattern: { source: ['portal.identity'], 'detail-type': ['Trust Requested', 'Trust Removal Requested'] },
    });
  });

  it('durations and flags reach the functions and the state machine as the SAM parameters do', () => {
    assert.equal(env('validate-request').TRUST_DEADLINE_SECONDS, '3600');
    assert.equal(env('check-trust').REMOTE_SIDE_WINDOW_SECONDS, '43200');
    assert.equal(env('check-trust').DELETE_FAILED_TRUSTS, 'true');
    assert.equal(env('trust-health').REVERIFY_TRUSTS, 'true');
    assert.equal(env('directory-trust-resource').PENDING_ANSWER_SECRET_PREFIX, 'idp/cloudformation-answers/');
    const [[, machine]] = resourcesOfType(json, 'AWS::StepFunctions::StateMachine');
    assert.deepEqual(
      { ...machine.Properties.DefinitionSubstitutions, ValidateRequestFunctionArn: undefined, CreateTrustFunctionArn: undefined, CheckTrustFunctionArn: undefined, NotifyRequesterFunctionArn: undefined, Partition: undefined },
      { ValidateRequestFunctionArn: undefined, CreateTrustFunctionArn: undefined, CheckTrustFunctionArn: undefined, NotifyRequesterFunctionArn: undefined, Partition: undefined, PollIntervalSeconds: '5', MaxPollIntervalSeconds: '60', ReverifyIntervalSeconds: '120', ExecutionTimeoutSeconds: '50400' },
    );
    template.hasResourceProperties('AWS::Lambda::Function', { LoggingConfig: Match.objectLike({ ApplicationLogLevel: 'DEBUG' }) });
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it("the secret prefix scopes create-trust's GetSecretValue", () => {
    const policies = resourcesOfType(json, 'AWS::IAM::Policy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    const read = policies.find((s: any) => s.Sid === 'ReadTrustPassword');
    assert.deepEqual(read.Resource, {
      'Fn::Sub': ['arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${Prefix}*', { Prefix: 'corp-trusts/' }],
    });
  });

  it('the service token export follows the name prefix', () => {
    assert.equal(workflow.serviceTokenExportName, 'idp-DirectoryTrustServiceToken');
    template.hasOutput('*', { Export: { Name: 'idp-DirectoryTrustServiceToken' } });
  });
});

describe('TrustflowWorkflow accessors', () => {
  it('onTrustResult: a rule on the bus for result events with the given outcomes', () => {
    const app = new App();
    const stack = new Stack(app, 'trustflow');
    const workflow = new TrustflowWorkflow(stack, 'Trustflow', { code: TrustflowCode.placeholder() });
    const queue = new sqs.Queue(stack, 'Portal');
    const rule = workflow.onTrustResult(new targets.SqsQueue(queue), { outcomes: ['verified', 'failed'] });
    workflow.onTrustResult(new targets.SqsQueue(queue));
    const template = Template.fromStack(stack);
    const busId = stack.getLogicalId(workflow.eventBus.node.defaultChild as events.CfnEventBus);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: busId },
      EventPattern: { source: ['trustflow'], detail: { outcome: ['verified', 'failed'] } },
    });
    template.hasResourceProperties('AWS::Events::Rule', { EventBusName: { Ref: busId }, EventPattern: { source: ['trustflow'] } });
    assert.ok(rule.ruleArn);
    assert.throws(() => workflow.onTrustResult(new targets.SqsQueue(queue), { outcomes: [] }), /outcomes is empty/);
  });

  it('remoteDirectoryCallerRoleArns: the roles of validate, create and check, the output joins them', () => {
    const { stack, workflow, json } = synthWorkflow();
    const roleArn = (binary: TrustflowBinary) => stack.resolve(workflow.functions[binary].role!.roleArn);
    assert.deepEqual(stack.resolve(workflow.remoteDirectoryCallerRoleArns), [roleArn('validate-request'), roleArn('create-trust'), roleArn('check-trust')]);
    const outputs = Object.values<any>(json.Outputs).filter((o) => o.Description === sam.Outputs.RemoteDirectoryCallerRoleArns.Description);
    assert.equal(outputs.length, 1);
    assert.deepEqual(outputs[0].Value, { 'Fn::Join': [',', [roleArn('validate-request'), roleArn('create-trust'), roleArn('check-trust')]] });
    assert.equal(Object.keys(synthWorkflow({ createOutputs: false }).json.Outputs ?? {}).filter((k) => k.includes('RemoteDirectoryCaller')).length, 0);
  });

  it('allowedRemoteRoleArns may hold tokens (an imported ARN): taken as given', () => {
    const imported = Fn.importValue('finance-RoleArn');
    const { stack, json } = synthWorkflow({ allowedRemoteRoleArns: [imported], remoteRoleExternalId: 'ext-id' });
    const [[, policy]] = resourcesOfType(json, 'AWS::IAM::Policy').filter(([, p]) => p.Properties.PolicyName === 'assume-remote-directory-roles');
    assert.deepEqual(policy.Properties.PolicyDocument.Statement[0].Resource, stack.resolve(imported));
  });

  it('roles without an external id: a warning (the role of other-account-role.yaml refuses such sessions)', () => {
    const { stack } = synthWorkflow({ allowedRemoteRoleArns: ['arn:aws:iam::222222222222:role/trustflow-remote-directories'] });
    Annotations.fromStack(stack).hasWarning('*', Match.stringLikeRegexp('without remoteRoleExternalId'));
    const withId = synthWorkflow({ allowedRemoteRoleArns: ['arn:aws:iam::222222222222:role/trustflow-remote-directories'], remoteRoleExternalId: 'ext-id' });
    Annotations.fromStack(withId.stack).hasNoWarning('*', Match.stringLikeRegexp('remoteRoleExternalId'));
  });

  it('the bus, the API, the state machine, the service token', () => {
    const { stack, workflow } = synthWorkflow();
    assert.deepEqual(stack.resolve(workflow.serviceToken), {
      'Fn::GetAtt': [stack.getLogicalId(workflow.functions['directory-trust-resource'].node.defaultChild as lambda.CfnFunction), 'Arn'],
    });
    assert.ok(workflow.api.restApiId && workflow.stateMachine.stateMachineArn && workflow.eventBus.eventBusArn);
  });

  it('grants: put request events on the bus, invoke the API', () => {
    const app = new App();
    const stack = new Stack(app, 'trustflow');
    const workflow = new TrustflowWorkflow(stack, 'Trustflow', { code: TrustflowCode.placeholder() });
    const portal = new lambda.Function(stack, 'Portal', { runtime: lambda.Runtime.NODEJS_LATEST, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler=()=>{}') });
    workflow.grantPutRequestEvents(portal);
    workflow.grantInvokeApi(portal);
    const statements = Template.fromStack(stack)
      .toJSON()
      .Resources;
    const actions = Object.values<any>(statements)
      .filter((r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes('PortalServiceRole'))
      .flatMap((r) => r.Properties.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat()));
    assert.deepEqual(actions.sort(), ['events:PutEvents', 'execute-api:Invoke']);
  });
});

describe('TrustflowWorkflow refuses what the SAM template refuses', () => {
  const make = (props: object) => () => new TrustflowWorkflow(new Stack(new App(), 's'), 'W', { code: TrustflowCode.placeholder(), ...props });
  it('durations under their MinValue, a secret prefix outside the pattern, an execution timeout too short', () => {
    assert.throws(make({ trustDeadline: Duration.seconds(59) }), /trustDeadline must be at least 60 s/);
    assert.throws(make({ pollInterval: Duration.millis(500) }), /./);
    assert.throws(make({ trustSecretNamePrefix: 'no spaces/' }), /trustSecretNamePrefix/);
    assert.throws(make({ executionTimeout: Duration.hours(26) }), /must exceed trustDeadline \+ remoteSideWindow/);
  });
  it("remoteRoleExternalId: exactly what RemoteRoleExternalId's AllowedPattern accepts", () => {
    const allowed = new RegExp(sam.Parameters.RemoteRoleExternalId.AllowedPattern);
    const samples = ['', 'ab', 'a', 'trustflow-prod:7f3a/2026', 'a+=,.@:/-b', 'x'.repeat(1224), 'x'.repeat(1225), 'with space', 'under_score', 'é-id'];
    for (const id of samples) {
      const build = make({ remoteRoleExternalId: id });
      if (allowed.test(id)) {
        assert.doesNotThrow(build, id);
      } else {
        assert.throws(build, /remoteRoleExternalId must match/, id);
      }
    }
  });
  it('allowedRemoteRoleArns: only IAM role ARNs a request could name, none with a comma (the list is joined with commas)', () => {
    for (const arn of [
      'arn:aws:iam::222222222222:role/trustflow-remote-directories',
      'arn:aws-us-gov:iam::222222222222:role/path/to/a.role@x',
    ]) {
      assert.doesNotThrow(make({ allowedRemoteRoleArns: [arn], remoteRoleExternalId: 'ext-id' }), arn);
    }
    for (const arn of [
      '',
      'arn:aws:iam::222222222222:user/alice',
      'arn:aws:iam::22222222222:role/short-account',
      'arn:aws:sts::222222222222:assumed-role/a/b',
      'arn:aws:iam::222222222222:role/',
      'arn:aws:iam::222222222222:role/a,b',
      `arn:aws:iam::222222222222:role/${'r'.repeat(2048)}`,
    ]) {
      assert.throws(make({ allowedRemoteRoleArns: [arn], remoteRoleExternalId: 'ext-id' }), /allowedRemoteRoleArns/, arn);
    }
  });
  it("a default code source that names the build to run when there is none", () => {
    assert.throws(() => TrustflowCode.fromSamBuild('/nonexistent')('check-trust'), /sam build/);
    assert.throws(() => TrustflowCode.fromCargoLambdaBuild('/nonexistent')('check-trust'), /cargo lambda build --release --arm64/);
  });
});
