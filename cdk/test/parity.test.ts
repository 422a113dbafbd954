// Parity: what TrustflowWorkflow synthesizes against what template.yaml declares. Both sides are
// evaluated (test/cfn-eval.ts) so that a reference to a resource reads as template.yaml's logical id
// on both; any drift of either side fails one of these tests.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { App, CfnParameter, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TrustflowCode, TrustflowWorkflow } from '../lib';
import { ASL_PATH, REPO, Synthesized, evaluate, resourcesOfType, sam, samContext, samFunctions, synthWorkflow } from './fixture';

const cdk = synthWorkflow();
const samCtx = samContext();
const ev = (node: unknown) => evaluate(node, cdk.ctx);
const evSam = (node: unknown) => evaluate(node, samCtx);
const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const sorted = (values: Iterable<string>) => [...new Set(values)].sort();

/** What SAM adds to every function's role besides the template's Policies. */
const LAMBDA_BASIC = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';
/** Tracing: Active. SAM attaches AWSXrayWriteOnlyAccess; CDK grants these two of its actions inline. */
const XRAY_WRITE = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];

interface Statement {
  Sid?: string;
  Effect?: string;
  Action: string | string[];
  Resource: unknown;
}

function cdkFunctionByName(name: string, synthesized: Synthesized = cdk): [string, any] {
  const found = resourcesOfType(synthesized.json, 'AWS::Lambda::Function').find(([id]) => synthesized.ctx.names[id] === name);
  assert.ok(found, `no CDK function for ${name}`);
  return found;
}

/** The statements of every inline policy of the role (a GetAtt of it), evaluated, and its managed policies. */
function roleStatements(roleArn: any, synthesized: Synthesized = cdk): { statements: Statement[]; managed: string[] } {
  const e = (node: unknown) => evaluate(node, synthesized.ctx);
  const roleId = roleArn['Fn::GetAtt'][0];
  const role = synthesized.json.Resources[roleId];
  const statements: Statement[] = [];
  for (const [, policy] of resourcesOfType(synthesized.json, 'AWS::IAM::Policy')) {
    if (policy.Properties.Roles.some((r: any) => r.Ref === roleId)) {
      statements.push(...e(policy.Properties.PolicyDocument.Statement));
    }
  }
  for (const policy of role.Properties.Policies ?? []) {
    statements.push(...e(policy.PolicyDocument.Statement));
  }
  return { statements, managed: e(role.Properties.ManagedPolicyArns ?? []) };
}

function bySid(statements: Statement[]): Record<string, { actions: string[]; resources: string[] }> {
  const out: Record<string, { actions: string[]; resources: string[] }> = {};
  for (const statement of statements) {
    if (statement.Sid === undefined) continue;
    assert.equal(statement.Effect ?? 'Allow', 'Allow');
    assert.ok(!(statement.Sid in out), `Sid ${statement.Sid} twice`);
    out[statement.Sid] = { actions: sorted(asList(statement.Action)), resources: sorted(asList(statement.Resource as string)) };
  }
  return out;
}

function samStatements(fn: any): Statement[] {
  return (fn.Properties.Policies ?? []).flatMap((policy: any) => {
    assert.ok(policy.Statement, 'template.yaml policies are inline documents (a SAM policy template needs a mapping in this test)');
    return evSam(policy.Statement);
  });
}

describe('functions', () => {
  const functions = samFunctions();

  it('template.yaml has exactly the nine binaries the construct deploys', () => {
    assert.deepEqual(sorted(functions.map((f) => f.binary)), sorted(Object.keys(cdk.workflow.functions)));
    assert.equal(resourcesOfType(cdk.json, 'AWS::Lambda::Function').length, functions.length);
  });

  for (const { id, resource, binary } of functions) {
    describe(binary, () => {
      const [, fn] = cdkFunctionByName(id);
      const { statements, managed } = roleStatements(fn.Properties.Role);
      const declared = samStatements(resource);

      it('the same set of IAM actions as template.yaml grants it', () => {
        const expected = declared.flatMap((s) => asList(s.Action));
        if (resource.Properties.DeadLetterQueue) expected.push('sqs:SendMessage');
        expected.push(...XRAY_WRITE);
        assert.deepEqual(sorted(statements.flatMap((s) => asList(s.Action))), sorted(expected));
      });

      it('each statement (Sid) with the same actions on the same resources', () => {
        assert.deepEqual(bySid(statements), bySid(declared));
      });

      it('only the tracing and dead-letter statements besides, and the basic execution policy', () => {
        const extra = statements.filter((s) => s.Sid === undefined);
        for (const statement of extra) {
          const actions = sorted(asList(statement.Action));
          if (actions.includes('sqs:SendMessage')) {
            assert.deepEqual(actions, ['sqs:SendMessage']);
            assert.deepEqual(statement.Resource, evSam(resource.Properties.DeadLetterQueue.TargetArn));
          } else {
            assert.deepEqual(actions, XRAY_WRITE);
            assert.equal(statement.Resource, '*');
          }
        }
        assert.deepEqual(managed, [LAMBDA_BASIC]);
      });

      it('the same configuration (Globals merged)', () => {
        const globals = sam.Globals.Function;
        const p = resource.Properties;
        const c = fn.Properties;
        assert.equal(c.Runtime, globals.Runtime);
        assert.equal(c.Handler, globals.Handler);
        assert.deepEqual(c.Architectures, globals.Architectures);
        assert.equal(c.MemorySize, p.MemorySize ?? globals.MemorySize);
        assert.equal(c.Timeout, p.Timeout ?? globals.Timeout);
        assert.deepEqual(c.TracingConfig, { Mode: globals.Tracing });
        assert.equal(c.Description, p.Description);
        assert.deepEqual(ev(c.LoggingConfig), evSam({ ...globals.LoggingConfig, ...p.LoggingConfig }));
        assert.deepEqual(ev(c.Environment ?? {}), evSam(p.Environment ?? {}));
        assert.deepEqual(ev(c.DeadLetterConfig), p.DeadLetterQueue ? { TargetArn: evSam(p.DeadLetterQueue.TargetArn) } : undefined);
      });

      it('a published version with alias live exactly where template.yaml has AutoPublishAlias', () => {
        const aliases = resourcesOfType(cdk.json, 'AWS::Lambda::Alias').filter(([, a]) => ev(a.Properties.FunctionName) === `ref(${id})`);
        if (resource.Properties.AutoPublishAlias) {
          assert.equal(aliases.length, 1);
          assert.equal(aliases[0][1].Properties.Name, resource.Properties.AutoPublishAlias);
        } else {
          assert.equal(aliases.length, 0);
        }
      });
    });
  }
});

describe('state machine', () => {
  const [[, machine]] = resourcesOfType(cdk.json, 'AWS::StepFunctions::StateMachine');
  const samMachine = sam.Resources.TrustWorkflow.Properties;

  const substitute = (text: string, substitutions: Record<string, unknown>) =>
    text.replace(/\$\{([A-Za-z0-9]+)\}/g, (whole, key: string) => (key in substitutions ? String(substitutions[key]) : whole));

  it('the definition equals the SAM one after substitution', () => {
    assert.equal(typeof machine.Properties.DefinitionString, 'string', 'the ASL file is inlined as written');
    const cdkDefinition = JSON.parse(substitute(machine.Properties.DefinitionString, ev(machine.Properties.DefinitionSubstitutions)));
    assert.equal(path.join(REPO, samMachine.DefinitionUri), ASL_PATH);
    const samText = fs.readFileSync(ASL_PATH, 'utf8');
    const samDefinition = JSON.parse(substitute(samText, evSam(samMachine.DefinitionSubstitutions)));
    assert.deepEqual(cdkDefinition, samDefinition);
  });

  it('the same substitutions, naming the same published versions', () => {
    assert.deepEqual(ev(machine.Properties.DefinitionSubstitutions), evSam(samMachine.DefinitionSubstitutions));
    assert.match(ev(machine.Properties.DefinitionSubstitutions).ValidateRequestFunctionArn, /^ref\(ValidateRequestFunction\.Version\)$/);
  });

  it('type, tracing and logging as in template.yaml', () => {
    assert.equal(machine.Properties.StateMachineType, samMachine.Type);
    assert.deepEqual(machine.Properties.TracingConfiguration, samMachine.Tracing);
    assert.deepEqual(ev(machine.Properties.LoggingConfiguration), evSam(samMachine.Logging));
  });

  it("its role: SAM's LambdaInvokePolicy per function and DeliverLogs, nothing more (and X-Ray)", () => {
    const { statements, managed } = roleStatements(machine.Properties.RoleArn);
    const invoke = statements.filter((s) => asList(s.Action).includes('lambda:InvokeFunction'));
    assert.ok(invoke.every((s) => asList(s.Action).length === 1));
    const samInvoke = samMachine.Policies.filter((p: any) => p.LambdaInvokePolicy).map(
      (p: any) => `arn:aws:lambda:us-east-1:123456789012:function:${evSam(p.LambdaInvokePolicy.FunctionName)}*`,
    );
    assert.deepEqual(sorted(invoke.flatMap((s) => asList(s.Resource as string))), sorted(samInvoke));
    const samDocs = samMachine.Policies.filter((p: any) => p.Statement).flatMap((p: any) => evSam(p.Statement));
    const expected = [...samDocs.flatMap((s: Statement) => asList(s.Action)), 'lambda:InvokeFunction', ...XRAY_WRITE, 'xray:GetSamplingRules', 'xray:GetSamplingTargets'];
    assert.deepEqual(sorted(statements.flatMap((s) => asList(s.Action))), sorted(expected));
    assert.deepEqual(managed, []);
  });
});

describe('rules', () => {
  // The EventBridgeRule events of template.yaml's functions, as the AWS::Events::Rule SAM makes of each.
  const samRules = samFunctions().flatMap(({ id, resource }) =>
    Object.values<any>(resource.Properties.Events ?? {})
      .filter((event) => event.Type === 'EventBridgeRule')
      .map((event) => ({
        Name: evSam(event.Properties.RuleName),
        EventBusName: evSam(event.Properties.EventBusName),
        EventPattern: evSam(event.Properties.Pattern),
        Target: `att(${id}.Arn)`,
        RetryPolicy: event.Properties.RetryPolicy,
        DeadLetterArn: evSam(event.Properties.DeadLetterConfig.Arn),
      })),
  );
  const cdkRules = resourcesOfType(cdk.json, 'AWS::Events::Rule')
    .filter(([, rule]) => rule.Properties.EventPattern)
    .map(([id, rule]) => {
      assert.equal(rule.Properties.Targets.length, 1);
      const [target] = rule.Properties.Targets;
      return {
        id,
        rule: {
          Name: ev(rule.Properties.Name),
          EventBusName: ev(rule.Properties.EventBusName),
          EventPattern: ev(rule.Properties.EventPattern),
          Target: ev(target.Arn),
          RetryPolicy: target.RetryPolicy,
          DeadLetterArn: ev(target.DeadLetterConfig?.Arn),
        },
      };
    });

  it('the same rules: names, bus, patterns, target, retry policy, dead-letter queue', () => {
    const byName = (rules: any[]) => Object.fromEntries(rules.map((r) => [r.Name, r]));
    assert.equal(samRules.length, 3);
    assert.deepEqual(byName(cdkRules.map((r) => r.rule)), byName(samRules));
  });

  it("the dead-letter queue's policy lets each of these rules in, and only them", () => {
    const [[, policy]] = resourcesOfType(cdk.json, 'AWS::SQS::QueuePolicy');
    const statements = ev(policy.Properties.PolicyDocument.Statement);
    const allowed = statements.map((s: any) => {
      assert.deepEqual([s.Effect, s.Principal, s.Action], ['Allow', { Service: 'events.amazonaws.com' }, 'sqs:SendMessage']);
      return s.Condition.ArnEquals['aws:SourceArn'];
    });
    assert.deepEqual(sorted(allowed), sorted(cdkRules.map((r) => `att(${cdk.ctx.names[r.id]}.Arn)`)));
    const samAllowed = evSam(sam.Resources.TrustRequestDeadLetterQueuePolicy.Properties.PolicyDocument.Statement[0].Condition.ArnEquals['aws:SourceArn']);
    assert.deepEqual(sorted(samAllowed.map((arn: string) => arn.split('/').pop())), sorted(cdkRules.map((r) => r.rule.Name)));
  });

  it('the health check schedule: disabled while no directory is listed, as in template.yaml', () => {
    const schedules = resourcesOfType(cdk.json, 'AWS::Events::Rule').filter(([, rule]) => rule.Properties.ScheduleExpression);
    assert.equal(schedules.length, 1);
    const [[, rule]] = schedules;
    const samEvent = sam.Resources.TrustHealthFunction.Properties.Events.HealthSchedule;
    assert.equal(rule.Properties.ScheduleExpression, evSam(samEvent.Properties.Schedule));
    assert.equal(rule.Properties.State, evSam(samEvent.Properties.State));
    assert.equal(ev(rule.Properties.Targets[0].Arn), 'att(TrustHealthFunction.Arn)');
  });

  it('the health check schedule with directories: the same input', () => {
    const ids = ['d-1111111111', 'd-2222222222'];
    const withIds = synthWorkflow({ healthCheckDirectoryIds: ids });
    const [[, rule]] = resourcesOfType(withIds.json, 'AWS::Events::Rule').filter(([, r]) => r.Properties.ScheduleExpression);
    const samEvent = sam.Resources.TrustHealthFunction.Properties.Events.HealthSchedule;
    const ctx = samContext({ HealthCheckDirectoryIds: ids });
    assert.equal(rule.Properties.State, evaluate(samEvent.Properties.State, ctx));
    assert.deepEqual(JSON.parse(rule.Properties.Targets[0].Input), JSON.parse(evaluate(samEvent.Properties.Input, ctx)));
  });
});

describe('API', () => {
  const [[, api]] = resourcesOfType(cdk.json, 'AWS::ApiGateway::RestApi');
  const samApi = sam.Resources.TrustApi.Properties;
  const body = ev(api.Properties.Body);

  it('the same paths', () => {
    assert.deepEqual(Object.keys(body.paths), Object.keys(samApi.DefinitionBody.paths));
    assert.deepEqual(Object.keys(body.paths), ['/trust-requests', '/trust-removals', '/trust-requests/{id}', '/trust-requests/{id}/remote-side-ready']);
  });

  it("the template's OpenAPI body, with SAM's AWS_IAM scheme on every method", () => {
    const withoutSecurity = structuredClone(body);
    for (const pathItem of Object.values<any>(withoutSecurity.paths)) {
      for (const operation of Object.values<any>(pathItem)) {
        assert.deepEqual(operation.security, [{ AWS_IAM: [] }]);
        delete operation.security;
      }
    }
    assert.deepEqual(withoutSecurity.components.securitySchemes, {
      AWS_IAM: { type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'awsSigv4' },
    });
    delete withoutSecurity.components.securitySchemes;
    assert.deepEqual(withoutSecurity, evSam(samApi.DefinitionBody));
  });

  it('name, stage v1 with tracing', () => {
    assert.equal(ev(api.Properties.Name), evSam(samApi.Name));
    const [[, stage]] = resourcesOfType(cdk.json, 'AWS::ApiGateway::Stage');
    assert.equal(stage.Properties.StageName, samApi.StageName);
    assert.equal(stage.Properties.TracingEnabled, samApi.TracingEnabled);
    assert.equal(resourcesOfType(cdk.json, 'AWS::ApiGateway::Account').length, 0);
  });

  it("the same permissions for API Gateway to invoke the route's functions", () => {
    const permissions = (json: any, e: (n: unknown) => any) =>
      sorted(
        resourcesOfType(json, 'AWS::Lambda::Permission')
          .filter(([, p]) => p.Properties.Principal === 'apigateway.amazonaws.com')
          .map(([, p]) => `${e(p.Properties.FunctionName)} ${p.Properties.Action} ${e(p.Properties.SourceArn)}`),
      );
    const fromSam = sorted(
      Object.values<any>(sam.Resources)
        .filter((r) => r.Type === 'AWS::Lambda::Permission')
        .map((p) => `${evSam(p.Properties.FunctionName).replace(/^ref\((.*)\)$/, 'att($1.Arn)')} ${p.Properties.Action} ${evSam(p.Properties.SourceArn)}`),
    );
    assert.deepEqual(permissions(cdk.json, ev), fromSam);
  });
});

describe('alarms, dashboard, log groups, topics, queue', () => {
  it('the same alarms', () => {
    const alarms = (entries: any[], e: (n: unknown) => any) =>
      Object.fromEntries(entries.map((r) => [r.Properties.AlarmDescription, e(r.Properties)]));
    const samAlarms = Object.values<any>(sam.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    assert.equal(samAlarms.length, 7);
    assert.deepEqual(alarms(resourcesOfType(cdk.json, 'AWS::CloudWatch::Alarm').map(([, r]) => r), ev), alarms(samAlarms, evSam));
  });

  it('the same dashboard', () => {
    const [[, dashboard]] = resourcesOfType(cdk.json, 'AWS::CloudWatch::Dashboard');
    const samDashboard = sam.Resources.TrustflowDashboard.Properties;
    assert.equal(ev(dashboard.Properties.DashboardName), evSam(samDashboard.DashboardName));
    assert.deepEqual(JSON.parse(ev(dashboard.Properties.DashboardBody)), JSON.parse(evSam(samDashboard.DashboardBody)));
  });

  it('the same log groups, names and retention', () => {
    const groups = (entries: any[], e: (n: unknown) => any) =>
      sorted(entries.map((r) => `${e(r.Properties.LogGroupName)} ${e(r.Properties.RetentionInDays)}`));
    const samGroups = Object.values<any>(sam.Resources).filter((r) => r.Type === 'AWS::Logs::LogGroup');
    assert.deepEqual(groups(resourcesOfType(cdk.json, 'AWS::Logs::LogGroup').map(([, r]) => r), ev), groups(samGroups, evSam));
    for (const [, group] of resourcesOfType(cdk.json, 'AWS::Logs::LogGroup')) {
      assert.equal(group.DeletionPolicy, 'Delete', 'the log groups are the stack\'s, deleted with it');
    }
  });

  it('every other resource of template.yaml has its counterpart with the same properties', () => {
    const compared = ['AWS::Events::EventBus', 'AWS::SNS::Topic', 'AWS::KMS::Key', 'AWS::SQS::Queue'];
    const cdkByName = Object.fromEntries(Object.entries<any>(cdk.json.Resources).map(([id, r]) => [cdk.ctx.names[id], r]));
    for (const [id, resource] of Object.entries<any>(sam.Resources)) {
      if (!compared.includes(resource.Type)) continue;
      const counterpart = cdkByName[id];
      assert.ok(counterpart, `no counterpart of ${id}`);
      assert.equal(counterpart.Type, resource.Type);
      assert.deepEqual(ev(counterpart.Properties), evSam(resource.Properties), id);
    }
  });

  it('the Custom::DirectoryTrust service token is exported under the same name', () => {
    const output = Object.values<any>(cdk.json.Outputs).find((o) => o.Export);
    const samOutput = sam.Outputs.DirectoryTrustServiceToken;
    assert.deepEqual(ev(output.Export), evSam(samOutput.Export));
    assert.equal(ev(output.Value), evSam(samOutput.Value));
  });

  it('the same outputs', () => {
    const values = (outputs: any, e: (n: unknown) => any) => sorted(Object.values<any>(outputs).map((o) => `${o.Description} = ${e(o.Value)}`));
    assert.deepEqual(values(cdk.json.Outputs, ev), values(sam.Outputs, evSam));
  });
});

describe('pairs across accounts (AllowedRemoteRoleArns, RemoteRoleExternalId)', () => {
  const ARNS = [
    'arn:aws:iam::222222222222:role/trustflow-remote-directories',
    'arn:aws:iam::333333333333:role/identity/trustflow-remote-directories',
  ];
  const EXTERNAL_ID = 'trustflow-prod:7f3a/2026';
  const samPolicy = sam.Resources.AssumeRemoteDirectoryRolesPolicy;
  const CALLERS = ['ValidateRequestFunction', 'CreateTrustFunction', 'CheckTrustFunction'];
  /** Every statement of every IAM policy (standalone and inline) of a template, evaluated. */
  const allStatements = (json: any, e: (n: unknown) => any): Statement[] =>
    Object.values<any>(json.Resources).flatMap((r) => {
      if (r.Type === 'AWS::IAM::Policy') return e(r.Properties.PolicyDocument.Statement);
      if (r.Type === 'AWS::IAM::Role') return (r.Properties.Policies ?? []).flatMap((p: any) => e(p.PolicyDocument.Statement));
      return [];
    });
  const stsStatements = (statements: Statement[]) => statements.filter((s) => asList(s.Action).some((a) => a.startsWith('sts:')));
  const normalized = (document: any) => ({
    ...document,
    Statement: document.Statement.map((s: Statement) => ({ ...s, Action: asList(s.Action), Resource: asList(s.Resource as string) })),
  });

  it('template.yaml: a policy of its own, on condition ReachesOtherAccounts (false at the defaults)', () => {
    assert.equal(samPolicy.Type, 'AWS::IAM::Policy');
    assert.equal(samPolicy.Condition, 'ReachesOtherAccounts');
    assert.equal(samCtx.conditions.ReachesOtherAccounts, false);
    assert.equal(samContext({ AllowedRemoteRoleArns: ARNS }).conditions.ReachesOtherAccounts, true);
  });

  it("no roles given: no AssumeRole policy, no sts: action in any role's policies (trust policies aside), no condition", () => {
    assert.deepEqual(stsStatements(allStatements(cdk.json, ev)), []);
    assert.ok(!Object.values(cdk.ctx.names).includes('AssumeRemoteDirectoryRolesPolicy'));
    assert.deepEqual(Object.keys(cdk.json.Conditions ?? {}), []);
  });

  it('no roles given: the environment of validate, create and check as template.yaml gives them at its defaults', () => {
    for (const id of CALLERS) {
      const [, fn] = cdkFunctionByName(id);
      assert.deepEqual(ev(fn.Properties.Environment), evSam(sam.Resources[id].Properties.Environment), id);
      assert.equal(ev(fn.Properties.Environment).Variables.REMOTE_ROLE_EXTERNAL_ID, '');
    }
    assert.equal(ev(cdkFunctionByName('ValidateRequestFunction')[1].Properties.Environment).Variables.ALLOWED_REMOTE_ROLE_ARNS, '');
  });

  for (const arns of [ARNS, ARNS.slice(0, 1)]) {
    describe(`${arns.length} role${arns.length === 1 ? '' : 's'} given`, () => {
      const given = synthWorkflow({ allowedRemoteRoleArns: arns, remoteRoleExternalId: EXTERNAL_ID });
      const e = (node: unknown) => evaluate(node, given.ctx);
      const ctx = samContext({ AllowedRemoteRoleArns: arns, RemoteRoleExternalId: EXTERNAL_ID });
      const es = (node: unknown) => evaluate(node, ctx);

      it("template.yaml's policy: its name, the three roles, the statement (Sid), on exactly the given ARNs", () => {
        const policies = resourcesOfType(given.json, 'AWS::IAM::Policy').filter(([id]) => given.ctx.names[id] === 'AssumeRemoteDirectoryRolesPolicy');
        assert.equal(policies.length, 1);
        const [[, policy]] = policies;
        assert.equal(policy.Condition, undefined, 'the list is known at synth: the policy is there or not');
        assert.equal(policy.Properties.PolicyName, samPolicy.Properties.PolicyName);
        assert.deepEqual(sorted(e(policy.Properties.Roles)), sorted(es(samPolicy.Properties.Roles)));
        assert.deepEqual(sorted(e(policy.Properties.Roles)), sorted(CALLERS.map((id) => `ref(${id}Role)`)));
        assert.deepEqual(normalized(e(policy.Properties.PolicyDocument)), normalized(es(samPolicy.Properties.PolicyDocument)));
        const [statement] = e(policy.Properties.PolicyDocument.Statement);
        assert.deepEqual(asList(statement.Resource), arns);
      });

      it('sts:AssumeRole in that statement only, and no other sts: action', () => {
        const sts = stsStatements(allStatements(given.json, e));
        assert.equal(sts.length, 1);
        assert.equal(sts[0].Sid, 'AssumeAllowedRemoteDirectoryRoles');
        assert.deepEqual(asList(sts[0].Action), ['sts:AssumeRole']);
      });

      it("each function's actions as template.yaml grants them with the policy: sts:AssumeRole for the three callers only", () => {
        for (const { id, resource } of samFunctions()) {
          const [, fn] = cdkFunctionByName(id, given);
          const { statements } = roleStatements(fn.Properties.Role, given);
          const expected = samStatements(resource).flatMap((s) => asList(s.Action));
          if (resource.Properties.DeadLetterQueue) expected.push('sqs:SendMessage');
          expected.push(...XRAY_WRITE);
          if (es(samPolicy.Properties.Roles).includes(`ref(${id}Role)`)) expected.push('sts:AssumeRole');
          assert.deepEqual(sorted(statements.flatMap((s) => asList(s.Action))), sorted(expected), id);
        }
      });

      it('the environment of validate, create and check as template.yaml gives them', () => {
        for (const id of CALLERS) {
          const [, fn] = cdkFunctionByName(id, given);
          assert.deepEqual(e(fn.Properties.Environment), es(sam.Resources[id].Properties.Environment), id);
          assert.equal(e(fn.Properties.Environment).Variables.REMOTE_ROLE_EXTERNAL_ID, EXTERNAL_ID);
        }
        const [, validate] = cdkFunctionByName('ValidateRequestFunction', given);
        assert.equal(e(validate.Properties.Environment).Variables.ALLOWED_REMOTE_ROLE_ARNS, arns.join(','));
      });

      it('the output RemoteDirectoryCallerRoleArns: the three roles, as template.yaml', () => {
        const [output] = Object.values<any>(given.json.Outputs).filter((o) => o.Description === sam.Outputs.RemoteDirectoryCallerRoleArns.Description);
        assert.equal(e(output.Value), es(sam.Outputs.RemoteDirectoryCallerRoleArns.Value));
        assert.equal(e(output.Value), CALLERS.map((id) => `att(${id}Role.Arn)`).join(','));
      });
    });
  }

  it("a CommaDelimitedList parameter for the roles: the policy on template.yaml's condition, the same Resource and environment", () => {
    const stack = new Stack(new App(), 'trustflow');
    const roles = new CfnParameter(stack, 'AllowedRemoteRoleArns', { type: 'CommaDelimitedList', default: '' });
    const externalId = new CfnParameter(stack, 'RemoteRoleExternalId', { type: 'String', default: '' });
    new TrustflowWorkflow(stack, 'Trustflow', {
      code: TrustflowCode.placeholder(),
      allowedRemoteRoleArns: roles.valueAsList,
      remoteRoleExternalId: externalId.valueAsString,
    });
    const json = Template.fromStack(stack).toJSON();
    const [[, policy]] = resourcesOfType(json, 'AWS::IAM::Policy').filter(([, p]) => p.Properties.PolicyName === samPolicy.Properties.PolicyName);
    assert.deepEqual(json.Conditions[policy.Condition], sam.Conditions.ReachesOtherAccounts);
    assert.deepEqual(policy.Properties.PolicyDocument.Statement[0].Resource, samPolicy.Properties.PolicyDocument.Statement[0].Resource);
    const variables = (id: string) =>
      resourcesOfType(json, 'AWS::Lambda::Function').find(([logicalId]) => logicalId.startsWith(`Trustflow${id}`))![1].Properties.Environment.Variables;
    for (const id of CALLERS) {
      const declared = sam.Resources[id].Properties.Environment.Variables;
      for (const name of ['ALLOWED_REMOTE_ROLE_ARNS', 'REMOTE_ROLE_EXTERNAL_ID'].filter((n) => n in declared)) {
        assert.deepEqual(variables(id)[name], declared[name], `${id} ${name}`);
      }
    }
  });
});
