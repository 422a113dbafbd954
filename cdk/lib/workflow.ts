// TrustflowWorkflow: what template.yaml deploys, as a CDK construct. The state machine's ASL file
// and the API's OpenAPI body are read from the checkout at synth time (one definition each, shared
// with the SAM template); everything else is declared here and checked against template.yaml by
// test/parity.test.ts (IAM actions and resources per function, rules, alarms, dashboard, API).
import * as fs from 'node:fs';
import { Annotations, Aws, CfnCondition, CfnOutput, Duration, Fn, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { SAM_LOGICAL_IDS, TrustflowBinary, TrustflowCode, TrustflowCodeSource } from './code';
import { defaultAslPath, defaultTemplatePath } from './paths';
import { loadCloudFormationYaml } from './sam-template';

/** The functions' application log level (LogLevel in template.yaml). */
export type TrustflowLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** The `outcome` of a result event (schemas/trust-result.schema.json). */
export type TrustOutcome =
  | 'verified'
  | 'created'
  | 'alreadyInPlace'
  | 'awaitingRemoteSide'
  | 'failed'
  | 'timedOut'
  | 'remoteSideTimedOut'
  | 'rejected'
  | 'removed'
  | 'alreadyRemoved'
  | 'checked';

/** The SAM template's parameters, typed; each default is the template's. */
export interface TrustflowWorkflowProps {
  /** TrustSecretNamePrefix: only secrets whose names start with it can hold trust passwords. @default 'trustflow/' */
  readonly trustSecretNamePrefix?: string;
  /** TrustDeadlineSeconds (at least 60 s). @default Duration.hours(2) */
  readonly trustDeadline?: Duration;
  /** RemoteSideWindowSeconds (at least 60 s). @default Duration.hours(24) */
  readonly remoteSideWindow?: Duration;
  /** PollIntervalSeconds: first interval between status polls. @default Duration.seconds(15) */
  readonly pollInterval?: Duration;
  /** MaxPollIntervalSeconds. @default Duration.seconds(120) */
  readonly maxPollInterval?: Duration;
  /** ReverifyIntervalSeconds: between VerifyTrust calls while the remote side is awaited. @default Duration.minutes(5) */
  readonly reverifyInterval?: Duration;
  /** ExecutionTimeoutSeconds: must exceed trustDeadline + remoteSideWindow. @default Duration.hours(28) */
  readonly executionTimeout?: Duration;
  /** DeleteFailedTrusts. @default false */
  readonly deleteFailedTrusts?: boolean;
  /** EventBusName of the bus this construct creates (ignored with `eventBus`). @default 'trustflow' */
  readonly eventBusName?: string;
  /** An existing bus to use instead of creating one. @default a new bus named `eventBusName` */
  readonly eventBus?: events.IEventBus;
  /** LogLevel. @default 'INFO' (WARN or ERROR drop the dashboard's outcome metrics) */
  readonly logLevel?: TrustflowLogLevel;
  /** LogRetentionDays. @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
  /** AllowedRequestSources: the EventBridge sources whose requests start a workflow. @default ['portal.identity', 'trustctl'] */
  readonly allowedRequestSources?: string[];
  /** AlarmTopicArn: an existing topic for the operator alarms (CloudWatch must be able to publish to it). @default a new topic with a KMS key of its own */
  readonly alarmTopic?: sns.ITopic;
  /** An existing topic for the requesters' notifications. @default a new topic encrypted with alias/aws/sns */
  readonly notificationTopic?: sns.ITopic;
  /** HealthCheckDirectoryIds: the directories the health check reads on its schedule. @default [] (no scheduled check) */
  readonly healthCheckDirectoryIds?: string[];
  /** HealthCheckSchedule. @default events.Schedule.expression('rate(6 hours)') */
  readonly healthCheckSchedule?: events.Schedule;
  /** HealthCheckReverify. @default false */
  readonly healthCheckReverify?: boolean;
  /**
   * AllowedRemoteRoleArns: pairs of directories across accounts - the roles in other accounts that a
   * request's remoteRoleArn may name (e.g. arn:aws:iam::222222222222:role/trustflow-remote-directories),
   * each made in its account from other-account-role.yaml or {@link RemoteDirectoryRole}. The validate,
   * create and check functions may assume exactly these (sts:AssumeRole, a policy of its own that exists
   * only when the list is not empty). Each is an IAM role ARN without a comma; a list token (a
   * CommaDelimitedList parameter) makes the policy conditional, as in template.yaml.
   * @default [] (pairs stay within this account; no AssumeRole policy)
   */
  readonly allowedRemoteRoleArns?: string[];
  /**
   * RemoteRoleExternalId: the external id given when assuming those roles (2-1,224 characters of
   * A-Za-z0-9+=,.@:/-); other-account-role.yaml refuses a session without it.
   * @default '' (none)
   */
  readonly remoteRoleExternalId?: string;
  /**
   * Each function's code, by binary name.
   * @default TrustflowCode.fromSamBuild(): the `sam build` output at the repository root
   */
  readonly code?: TrustflowCodeSource;
  /**
   * What the template names after `${AWS::StackName}`: log groups, rules, the API, the dashboard,
   * the Custom::DirectoryTrust answers' secret prefix and the service token's export.
   * @default the stack's name
   */
  readonly namePrefix?: string;
  /** Export the Custom::DirectoryTrust service token as `<namePrefix>-DirectoryTrustServiceToken`. @default true */
  readonly exportServiceToken?: boolean;
  /** The template's outputs (AlarmTopicArn, TrustApiUrl, ...) as stack outputs. @default true */
  readonly createOutputs?: boolean;
  /** The state machine definition. @default statemachine/trust_workflow.asl.json of the checkout */
  readonly aslPath?: string;
  /** The SAM template the API's OpenAPI body is read from. @default template.yaml of the checkout */
  readonly templatePath?: string;
}

/** RemoteRoleExternalId's AllowedPattern in template.yaml (empty, or 2-1,224 characters). */
const EXTERNAL_ID_PATTERN = /^([A-Za-z0-9+=,.@:/-]{2,1224})?$/;
/**
 * The IAM role ARNs a request's remoteRoleArn may be (schemas/trust-request.schema.json), less the
 * comma IAM allows in names: the list is joined with commas (ALLOWED_REMOTE_ROLE_ARNS, and a
 * CommaDelimitedList in template.yaml), so a role with one could never be allowed.
 */
const REMOTE_ROLE_ARN_PATTERN = /^arn:aws(-cn|-us-gov)?:iam::[0-9]{12}:role\/[A-Za-z0-9+=.@_-]([A-Za-z0-9+=.@_\/-]*[A-Za-z0-9+=.@_-])?$/;

/** Options of {@link TrustflowWorkflow.onTrustResult}. */
export interface TrustResultOptions {
  /** The outcomes to match (detail.outcome). @default every result event */
  readonly outcomes?: TrustOutcome[];
  /** The rule's construct id. @default 'TrustResult' + the outcomes */
  readonly id?: string;
  /** The rule's name. @default generated */
  readonly ruleName?: string;
  /** Further detail fields to match, e.g. { requestId: [{ prefix: 'PORTAL-' }] }. */
  readonly detail?: Record<string, unknown>;
}

const LOG_LEVELS: Record<TrustflowLogLevel, lambda.ApplicationLogLevel> = {
  DEBUG: lambda.ApplicationLogLevel.DEBUG,
  INFO: lambda.ApplicationLogLevel.INFO,
  WARN: lambda.ApplicationLogLevel.WARN,
  ERROR: lambda.ApplicationLogLevel.ERROR,
};

interface FunctionSpec {
  readonly binary: TrustflowBinary;
  readonly logGroupId: string;
  readonly description: string;
  readonly environment?: Record<string, string>;
  readonly timeout?: Duration;
  readonly deadLetterQueue?: boolean;
  readonly statements: iam.PolicyStatement[];
}

function seconds(name: string, value: Duration, min: number): number {
  const s = value.toSeconds();
  if (!Token.isUnresolved(s) && s < min) {
    throw new Error(`TrustflowWorkflow: ${name} must be at least ${min} s (got ${s} s)`);
  }
  return s;
}

/**
 * The trustflow workflow: the bus, the "Trust Requested", "Trust Remote Side Ready" and
 * Custom::DirectoryTrust result rules with their dead-letter queue, the nine Rust functions with
 * least-privilege roles, the state machine (statemachine/trust_workflow.asl.json), the IAM-authorised
 * trust-request API, the topics, alarms, dashboard and log groups of template.yaml.
 */
export class TrustflowWorkflow extends Construct {
  /** The bus that receives "Trust Requested" events and carries the result events. */
  readonly eventBus: events.IEventBus;
  /** The trust-request API (POST /trust-requests, GET /trust-requests/{id}, ...), stage v1. */
  readonly api: apigw.SpecRestApi;
  /** The state machine. */
  readonly stateMachine: sfn.StateMachine;
  /** The requesters' topic. */
  readonly notificationTopic: sns.ITopic;
  /** Where the operator alarms go. */
  readonly alarmTopic: sns.ITopic;
  /** Requests the rules or the entrance could not deliver. */
  readonly deadLetterQueue: sqs.Queue;
  /** Each function, by binary name. */
  readonly functions: Record<TrustflowBinary, lambda.Function>;
  /** The operator alarms. */
  readonly alarms: cloudwatch.CfnAlarm[];
  /** The ServiceToken of Custom::DirectoryTrust: the directory-trust-resource function's ARN. */
  readonly serviceToken: string;
  /** The export name of the service token (when exported). */
  readonly serviceTokenExportName?: string;
  /** The secret name prefix trust passwords must live under. */
  readonly trustSecretNamePrefix: string;
  /** The name prefix in place of the template's ${AWS::StackName}. */
  readonly namePrefix: string;
  /** The interval between re-verifications while the remote side is awaited. */
  readonly reverifyInterval: Duration;
  /**
   * The roles that reach a pair's other directory (validate, create, check), in that order: the
   * TrustflowRoleArns of other-account-role.yaml (or {@link RemoteDirectoryRole}) in the other account.
   * Also the RemoteDirectoryCallerRoleArns output, joined with commas.
   */
  readonly remoteDirectoryCallerRoleArns: string[];

  constructor(scope: Construct, id: string, props: TrustflowWorkflowProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.namePrefix ?? stack.stackName;
    this.namePrefix = prefix;
    const secretPrefix = props.trustSecretNamePrefix ?? 'trustflow/';
    if (!Token.isUnresolved(secretPrefix) && !/^[A-Za-z0-9/_+=.@-]{1,256}$/.test(secretPrefix)) {
      throw new Error(`TrustflowWorkflow: trustSecretNamePrefix must match ^[A-Za-z0-9/_+=.@-]{1,256}$ (got '${secretPrefix}')`);
    }
    this.trustSecretNamePrefix = secretPrefix;
    const deadline = seconds('trustDeadline', props.trustDeadline ?? Duration.seconds(7200), 60);
    const window = seconds('remoteSideWindow', props.remoteSideWindow ?? Duration.seconds(86400), 60);
    const poll = seconds('pollInterval', props.pollInterval ?? Duration.seconds(15), 1);
    const maxPoll = seconds('maxPollInterval', props.maxPollInterval ?? Duration.seconds(120), 1);
    this.reverifyInterval = props.reverifyInterval ?? Duration.seconds(300);
    const reverify = seconds('reverifyInterval', this.reverifyInterval, 1);
    const executionTimeout = seconds('executionTimeout', props.executionTimeout ?? Duration.seconds(100800), 120);
    if (executionTimeout <= deadline + window) {
      throw new Error(
        `TrustflowWorkflow: executionTimeout (${executionTimeout} s) must exceed trustDeadline + remoteSideWindow (${deadline + window} s)`,
      );
    }
    const logLevel = props.logLevel ?? 'INFO';
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const sources = props.allowedRequestSources ?? ['portal.identity', 'trustctl'];
    const code = props.code ?? TrustflowCode.fromSamBuild();
    const remoteRoles = props.allowedRemoteRoleArns ?? [];
    // A CommaDelimitedList parameter (or another list token): whether it is empty is known only at deploy.
    const remoteRolesAreToken = Token.isUnresolved(remoteRoles);
    if (!remoteRolesAreToken) {
      for (const arn of remoteRoles) {
        if (!Token.isUnresolved(arn) && (arn.length > 2048 || !REMOTE_ROLE_ARN_PATTERN.test(arn))) {
          throw new Error(
            `TrustflowWorkflow: allowedRemoteRoleArns: '${arn}' is not an IAM role ARN a request could name (arn:aws:iam::<12-digit account id>:role/<name>, no comma)`,
          );
        }
      }
    }
    const externalId = props.remoteRoleExternalId ?? '';
    if (!Token.isUnresolved(externalId) && !EXTERNAL_ID_PATTERN.test(externalId)) {
      throw new Error(`TrustflowWorkflow: remoteRoleExternalId must match ${EXTERNAL_ID_PATTERN.source} (got '${externalId}')`);
    }
    if (!remoteRolesAreToken && remoteRoles.length > 0 && externalId === '') {
      Annotations.of(this).addWarningV2(
        'trustflow:remoteRoleExternalId',
        'allowedRemoteRoleArns without remoteRoleExternalId: a role made from other-account-role.yaml (or RemoteDirectoryRole) refuses every session without its external id',
      );
    }
    const directoryArns = Fn.sub('arn:${AWS::Partition}:ds:${AWS::Region}:${AWS::AccountId}:directory/*');
    const secretArns = Fn.sub('arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${Prefix}*', {
      Prefix: secretPrefix,
    });

    // --- bus, topics, dead-letter queue ---------------------------------------------------------
    this.eventBus = props.eventBus ?? new events.EventBus(this, 'TrustEventBus', { eventBusName: props.eventBusName ?? 'trustflow' });

    if (props.notificationTopic) {
      this.notificationTopic = props.notificationTopic;
    } else {
      const topic = new sns.Topic(this, 'NotificationTopic', { displayName: 'trustflow' });
      // The requesters' topic: only the notify-requester function publishes to it.
      (topic.node.defaultChild as sns.CfnTopic).kmsMasterKeyId = 'alias/aws/sns';
      this.notificationTopic = topic;
    }

    if (props.alarmTopic) {
      this.alarmTopic = props.alarmTopic;
    } else {
      // CloudWatch cannot publish to a topic encrypted with alias/aws/sns: the alarms get a topic whose
      // key lets CloudWatch use it.
      const key = new kms.Key(this, 'AlarmTopicKey', {
        description: 'trustflow operator alarm topic',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
        policy: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              sid: 'AccountAdministersTheKey',
              principals: [new iam.ArnPrincipal(Fn.sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:root'))],
              actions: ['kms:*'],
              resources: ['*'],
            }),
            new iam.PolicyStatement({
              sid: 'CloudWatchPublishesAlarms',
              principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
              actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
              resources: ['*'],
            }),
          ],
        }),
      });
      const topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'trustflow alarms' });
      (topic.node.defaultChild as sns.CfnTopic).kmsMasterKeyId = key.keyId;
      this.alarmTopic = topic;
    }

    // Requests the rules could not deliver, and events the entrance failed on after Lambda's retries.
    // Each rule's target adds its own statement to the queue's policy (events.amazonaws.com, the rule's ARN).
    this.deadLetterQueue = new sqs.Queue(this, 'TrustRequestDeadLetterQueue', {
      retentionPeriod: Duration.seconds(1209600),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
    });

    // --- functions ---------------------------------------------------------------------------------
    const makeFunction = (spec: FunctionSpec): lambda.Function => {
      const samId = SAM_LOGICAL_IDS[spec.binary];
      const logGroup = new logs.LogGroup(this, spec.logGroupId, {
        logGroupName: `/aws/lambda/${prefix}-${spec.binary}`,
        retention,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      const fn = new lambda.Function(this, samId, {
        runtime: lambda.Runtime.PROVIDED_AL2023,
        handler: 'bootstrap',
        architecture: lambda.Architecture.ARM_64,
        memorySize: 128,
        timeout: spec.timeout ?? Duration.seconds(30),
        tracing: lambda.Tracing.ACTIVE,
        loggingFormat: lambda.LoggingFormat.JSON,
        applicationLogLevelV2: LOG_LEVELS[logLevel],
        systemLogLevelV2: lambda.SystemLogLevel.WARN,
        logGroup,
        code: code(spec.binary),
        description: spec.description,
        environment: spec.environment,
        deadLetterQueue: spec.deadLetterQueue ? this.deadLetterQueue : undefined,
      });
      for (const statement of spec.statements) {
        fn.addToRolePolicy(statement);
      }
      return fn;
    };
    const allow = (sid: string, actions: string[], resources: string[]) => new iam.PolicyStatement({ sid, actions, resources });
    const networkReadOnly = ['ec2:DescribeVpcs', 'ec2:DescribeSecurityGroups', 'ec2:DescribeNetworkAcls', 'ec2:DescribeRouteTables'];

    const validateRequest = makeFunction({
      binary: 'validate-request',
      logGroupId: 'ValidateRequestLogGroup',
      description: 'Validates a trust request and decides what the workflow does next. Never reads the password.',
      environment: {
        TRUST_DEADLINE_SECONDS: String(deadline),
        ALLOWED_REMOTE_ROLE_ARNS: remoteRolesAreToken ? Fn.join(',', remoteRoles) : remoteRoles.join(','),
        REMOTE_ROLE_EXTERNAL_ID: externalId,
      },
      statements: [
        // DescribeDirectories and DescribeTrusts support no resource-level permissions.
        allow('DescribeWithoutResourceLevelPermissions', ['ds:DescribeDirectories', 'ds:DescribeTrusts'], ['*']),
        allow('ReadForwarders', ['ds:DescribeConditionalForwarders', 'ds:ListIpRoutes'], [directoryArns]),
        // EC2's Describe actions support no resource-level permissions.
        allow('NetworkPreflightReadOnly', networkReadOnly, ['*']),
        allow('SecretMetadataOnly', ['secretsmanager:DescribeSecret'], [secretArns]),
      ],
    });
    const createTrust = makeFunction({
      binary: 'create-trust',
      logGroupId: 'CreateTrustLogGroup',
      description:
        'Reads the trust password and calls CreateTrust, idempotently (the only reader of the password); changes an existing trust in place.',
      environment: { REMOTE_ROLE_EXTERNAL_ID: externalId },
      statements: [
        allow('DescribeWithoutResourceLevelPermissions', ['ds:DescribeTrusts'], ['*']),
        allow(
          'CreateReplaceAndUpdateTrusts',
          [
            'ds:CreateTrust',
            'ds:DeleteTrust',
            'ds:UpdateTrust',
            'ds:DescribeConditionalForwarders',
            'ds:CreateConditionalForwarder',
            'ds:UpdateConditionalForwarder',
            'ds:ListIpRoutes',
            'ds:AddIpRoutes',
          ],
          [directoryArns],
        ),
        allow('ReadTrustPassword', ['secretsmanager:GetSecretValue'], [secretArns]),
      ],
    });
    const checkTrust = makeFunction({
      binary: 'check-trust',
      logGroupId: 'CheckTrustLogGroup',
      description:
        'Polls a trust, re-verifies it while the remote side is missing (at once when it is reported ready), deletes failed trusts if configured.',
      environment: {
        REMOTE_SIDE_WINDOW_SECONDS: String(window),
        DELETE_FAILED_TRUSTS: props.deleteFailedTrusts ? 'true' : 'false',
        REMOTE_ROLE_EXTERNAL_ID: externalId,
      },
      statements: [
        allow('DescribeWithoutResourceLevelPermissions', ['ds:DescribeTrusts'], ['*']),
        allow('FollowTrusts', ['ds:VerifyTrust', 'ds:DeleteTrust'], [directoryArns]),
        // A task token of a service-integration Task names no resource IAM can scope to.
        allow('AnswerTheWaitingTask', ['states:SendTaskSuccess'], ['*']),
      ],
    });
    // Pairs across accounts: the functions that reach the other directory may assume the allowed roles
    // there, and no other role. A policy of its own so that a deployment without such roles has none.
    const callerRoles = [validateRequest, createTrust, checkTrust].map((fn) => fn.role!);
    this.remoteDirectoryCallerRoleArns = callerRoles.map((role) => role.roleArn);
    if (remoteRolesAreToken || remoteRoles.length > 0) {
      const assumeRemoteRoles = new iam.Policy(this, 'AssumeRemoteDirectoryRolesPolicy', {
        policyName: 'assume-remote-directory-roles',
        roles: callerRoles,
        statements: [allow('AssumeAllowedRemoteDirectoryRoles', ['sts:AssumeRole'], remoteRoles)],
      });
      if (remoteRolesAreToken) {
        const reachesOtherAccounts = new CfnCondition(this, 'ReachesOtherAccounts', {
          expression: Fn.conditionNot(Fn.conditionEquals(Fn.join(',', remoteRoles), '')),
        });
        (assumeRemoteRoles.node.defaultChild as iam.CfnPolicy).cfnOptions.condition = reachesOtherAccounts;
      }
    }
    const notifyRequester = makeFunction({
      binary: 'notify-requester',
      logGroupId: 'NotifyRequesterLogGroup',
      description: 'Tells the requester the outcome over SNS and an EventBridge result event.',
      environment: {
        NOTIFICATION_TOPIC_ARN: this.notificationTopic.topicArn,
        RESULT_EVENT_BUS: this.eventBus.eventBusName,
        RESULT_EVENT_SOURCE: 'trustflow',
      },
      statements: [
        // The stack's topic and the per-request topics, which must be in this account and Region.
        allow('PublishOutcome', ['sns:Publish'], [Fn.sub('arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:*')]),
        allow('PutResultEvents', ['events:PutEvents'], [this.eventBus.eventBusArn]),
        allow('NetworkDiagnosisReadOnly', networkReadOnly, ['*']),
      ],
    });
    const trustHealth = makeFunction({
      binary: 'trust-health',
      logGroupId: 'TrustHealthLogGroup',
      timeout: Duration.seconds(120),
      description:
        'Reads the trusts of the given directories on a schedule and reports each one that stops (or starts again) working, once, with its remedy. Keeps what it saw as tags on each directory.',
      environment: {
        NOTIFICATION_TOPIC_ARN: this.notificationTopic.topicArn,
        RESULT_EVENT_BUS: this.eventBus.eventBusName,
        RESULT_EVENT_SOURCE: 'trustflow',
        REVERIFY_TRUSTS: props.healthCheckReverify ? 'true' : 'false',
      },
      statements: [
        allow('DescribeWithoutResourceLevelPermissions', ['ds:DescribeDirectories', 'ds:DescribeTrusts'], ['*']),
        allow(
          'VerifyTrustsAndKeepWhatWasSeenAsTags',
          ['ds:VerifyTrust', 'ds:ListTagsForResource', 'ds:AddTagsToResource', 'ds:RemoveTagsFromResource'],
          [directoryArns],
        ),
        allow('PublishHealthChanges', ['sns:Publish'], [this.notificationTopic.topicArn]),
        allow('PutHealthEvents', ['events:PutEvents'], [this.eventBus.eventBusArn]),
      ],
    });
    const healthIds = props.healthCheckDirectoryIds ?? [];
    new events.Rule(this, 'HealthSchedule', {
      schedule: props.healthCheckSchedule ?? events.Schedule.expression('rate(6 hours)'),
      enabled: healthIds.length > 0,
      targets: [new targets.LambdaFunction(trustHealth, { event: events.RuleTargetInput.fromObject({ directoryIds: healthIds }) })],
    });

    // --- the state machine -------------------------------------------------------------------------
    // Published versions: the state machine names them, so a running execution finishes on the code it
    // started with (SAM's AutoPublishAlias: live).
    const versionArn = (fn: lambda.Function): string => {
      new lambda.Alias(fn, 'Aliaslive', { aliasName: 'live', version: fn.currentVersion });
      return fn.currentVersion.functionArn;
    };
    const workflowLogGroup = new logs.LogGroup(this, 'TrustWorkflowLogGroup', {
      logGroupName: `/aws/vendedlogs/states/${prefix}-trust-workflow`,
      retention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'TrustWorkflow', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(fs.readFileSync(props.aslPath ?? defaultAslPath(), 'utf8')),
      definitionSubstitutions: {
        // Version ARNs, not $LATEST and not the alias (which moves with the next deploy).
        ValidateRequestFunctionArn: versionArn(validateRequest),
        CreateTrustFunctionArn: versionArn(createTrust),
        CheckTrustFunctionArn: versionArn(checkTrust),
        NotifyRequesterFunctionArn: versionArn(notifyRequester),
        Partition: Aws.PARTITION,
        PollIntervalSeconds: String(poll),
        MaxPollIntervalSeconds: String(maxPoll),
        ReverifyIntervalSeconds: String(reverify),
        ExecutionTimeoutSeconds: String(executionTimeout),
      },
      tracingEnabled: true,
      // ERROR level without execution data: state input and output stay out of CloudWatch Logs. The
      // construct grants the log-delivery actions (the template's DeliverLogs statement).
      logs: { destination: workflowLogGroup, level: sfn.LogLevel.ERROR, includeExecutionData: false },
    });
    for (const fn of [validateRequest, createTrust, checkTrust, notifyRequester]) {
      // SAM's LambdaInvokePolicy: the function and its versions.
      this.stateMachine.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: [
            Fn.sub('arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${functionName}*', {
              functionName: fn.functionName,
            }),
          ],
        }),
      );
    }
    const executionArns = Fn.sub('arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:${Name}:*', {
      Name: this.stateMachine.stateMachineName,
    });

    // --- the functions around it -------------------------------------------------------------------
    const submitRequest = makeFunction({
      binary: 'submit-request',
      logGroupId: 'SubmitRequestLogGroup',
      description:
        'The one entrance of a trust request (the EventBridge rule and POST /trust-requests) - starts the workflow named after the request id.',
      environment: { STATE_MACHINE_ARN: this.stateMachine.stateMachineArn },
      // Events the entrance still fails on after Lambda's two retries are kept, not lost.
      deadLetterQueue: true,
      statements: [
        allow('StartTrustWorkflow', ['states:StartExecution'], [this.stateMachine.stateMachineArn]),
        allow('CompareWithTheRequestAlreadyStarted', ['states:DescribeExecution'], [executionArns]),
      ],
    });
    const remoteSideReady = makeFunction({
      binary: 'remote-side-ready',
      logGroupId: 'RemoteSideReadyLogGroup',
      description:
        "'The remote side is ready' (POST /trust-requests/{id}/remote-side-ready and the Trust Remote Side Ready event) - wakes a workflow waiting for the remote side so that it verifies at once.",
      environment: { STATE_MACHINE_ARN: this.stateMachine.stateMachineArn },
      statements: [
        allow('ReadTrustWorkflowExecutions', ['states:DescribeExecution', 'states:GetExecutionHistory'], [executionArns]),
        allow('WakeTheWaitingTask', ['states:SendTaskFailure'], ['*']),
      ],
    });
    const directoryTrustResource = makeFunction({
      binary: 'directory-trust-resource',
      logGroupId: 'DirectoryTrustResourceLogGroup',
      description:
        'The Custom::DirectoryTrust CloudFormation resource - starts the workflow for Create, Update and Delete and answers CloudFormation from the request\'s result event.',
      environment: {
        STATE_MACHINE_ARN: this.stateMachine.stateMachineArn,
        PENDING_ANSWER_SECRET_PREFIX: `${prefix}/cloudformation-answers/`,
        REVERIFY_INTERVAL_SECONDS: String(reverify),
      },
      deadLetterQueue: true,
      statements: [
        allow('StartTrustWorkflow', ['states:StartExecution'], [this.stateMachine.stateMachineArn]),
        allow('ReadTrustWorkflowExecutions', ['states:DescribeExecution', 'states:GetExecutionHistory'], [executionArns]),
        allow('DescribeWithoutResourceLevelPermissions', ['ds:DescribeTrusts'], ['*']),
        // One secret per answer owed to CloudFormation (it holds the presigned response URL).
        allow(
          'KeepTheAnswersOwed',
          ['secretsmanager:CreateSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:DeleteSecret'],
          [Fn.sub('arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${Prefix}/cloudformation-answers/*', { Prefix: prefix })],
        ),
      ],
    });
    const requestStatus = makeFunction({
      binary: 'request-status',
      logGroupId: 'RequestStatusLogGroup',
      description: 'Answers GET /trust-requests/{id} with where the request stands, read from its execution. Never the input.',
      environment: { STATE_MACHINE_ARN: this.stateMachine.stateMachineArn },
      statements: [allow('ReadTrustWorkflowExecutions', ['states:DescribeExecution', 'states:GetExecutionHistory'], [executionArns])],
    });
    this.functions = {
      'validate-request': validateRequest,
      'create-trust': createTrust,
      'check-trust': checkTrust,
      'notify-requester': notifyRequester,
      'request-status': requestStatus,
      'submit-request': submitRequest,
      'remote-side-ready': remoteSideReady,
      'trust-health': trustHealth,
      'directory-trust-resource': directoryTrustResource,
    };
    this.serviceToken = directoryTrustResource.functionArn;

    // --- rules ---------------------------------------------------------------------------------------
    const deliver = (fn: lambda.Function) =>
      new targets.LambdaFunction(fn, { retryAttempts: 8, maxEventAge: Duration.seconds(3600), deadLetterQueue: this.deadLetterQueue });
    new events.Rule(this, 'TrustRequestedRule', {
      eventBus: this.eventBus,
      ruleName: `${prefix}-trust-requested`,
      eventPattern: { source: sources, detailType: ['Trust Requested', 'Trust Removal Requested'] },
      targets: [deliver(submitRequest)],
    });
    new events.Rule(this, 'TrustRemoteSideReadyRule', {
      eventBus: this.eventBus,
      ruleName: `${prefix}-trust-remote-side-ready`,
      eventPattern: { source: sources, detailType: ['Trust Remote Side Ready'] },
      targets: [deliver(remoteSideReady)],
    });
    new events.Rule(this, 'ResourceRequestResultsRule', {
      eventBus: this.eventBus,
      ruleName: `${prefix}-directory-trust-results`,
      // The result events of the requests the resource started (their ids begin with cfn-).
      eventPattern: { source: ['trustflow'], detail: { requestId: [{ prefix: 'cfn-' }] } },
      targets: [deliver(directoryTrustResource)],
    });

    // --- the API -------------------------------------------------------------------------------------
    const apiName = `${prefix}-trust-requests`;
    this.api = new apigw.SpecRestApi(this, 'TrustApi', {
      restApiName: apiName,
      apiDefinition: apigw.ApiDefinition.fromInline(
        trustApiBody(props.templatePath ?? defaultTemplatePath(), {
          SubmitRequestFunction: submitRequest,
          RequestStatusFunction: requestStatus,
          RemoteSideReadyFunction: remoteSideReady,
        }),
      ),
      deployOptions: { stageName: 'v1', tracingEnabled: true },
      cloudWatchRole: false,
    });
    // SpecRestApi always adds an output of its own; the template's TrustApiUrl (below) is the one.
    this.api.node.tryRemoveChild('Endpoint');
    const apiPermission = (permissionId: string, fn: lambda.Function, method: string, path: string) =>
      fn.addPermission(permissionId, {
        action: 'lambda:InvokeFunction',
        principal: new iam.ServicePrincipal('apigateway.amazonaws.com'),
        sourceArn: this.api.arnForExecuteApi(method, path, '*'),
      });
    apiPermission('SubmitRequestApiPermission', submitRequest, 'POST', '/trust-requests');
    apiPermission('SubmitRemovalApiPermission', submitRequest, 'POST', '/trust-removals');
    apiPermission('RemoteSideReadyApiPermission', remoteSideReady, 'POST', '/trust-requests/*/remote-side-ready');
    apiPermission('RequestStatusApiPermission', requestStatus, 'GET', '/trust-requests/*');

    // --- alarms and dashboard --------------------------------------------------------------------------
    // Alarms page an operator only for what needs one: rejections and failed trusts are answered to the
    // requester and counted on the dashboard.
    const alarmActions = [this.alarmTopic.topicArn];
    const alarm = (alarmId: string, description: string, metric: Partial<cloudwatch.CfnAlarmProps>) =>
      new cloudwatch.CfnAlarm(this, alarmId, {
        alarmDescription: description,
        ...metric,
        alarmActions,
        treatMissingData: 'notBreaching',
        comparisonOperator: 'GreaterThanOrEqualToThreshold',
        threshold: 1,
        evaluationPeriods: 1,
      });
    const sumOf = (label: string, idPrefix: string, namespace: string, metricName: string, dimensions: cloudwatch.CfnAlarm.DimensionProperty[]) => ({
      metrics: [
        ...dimensions.map((dimension, i) => ({
          id: `${idPrefix}${i}`,
          returnData: false,
          metricStat: { period: 300, stat: 'Sum', metric: { namespace, metricName, dimensions: [dimension] } },
        })),
        { id: 'total', expression: dimensions.map((_, i) => `${idPrefix}${i}`).join(' + '), label },
      ],
    });
    const byFunction = (fns: lambda.Function[]) => fns.map((fn) => ({ name: 'FunctionName', value: fn.functionName }));
    const machineArn = this.stateMachine.stateMachineArn;
    const machineName = this.stateMachine.stateMachineName;
    this.alarms = [
      alarm('ExecutionsTimedOutOrAbortedAlarm', 'A trust workflow execution timed out or was aborted; its requester may not have been told.', {
        metrics: [
          ...(['timedout', 'aborted'] as const).map((metricId) => ({
            id: metricId,
            returnData: false,
            metricStat: {
              period: 300,
              stat: 'Sum',
              metric: {
                namespace: 'AWS/States',
                metricName: metricId === 'timedout' ? 'ExecutionsTimedOut' : 'ExecutionsAborted',
                dimensions: [{ name: 'StateMachineArn', value: machineArn }],
              },
            },
          })),
          { id: 'total', expression: 'timedout + aborted', label: 'Timed-out or aborted executions' },
        ],
      }),
      alarm(
        'WorkflowFaultsAlarm',
        'A request ended on a fault of trustflow itself (an internal error or retries exhausted), not on a verdict about the trust.',
        {
          namespace: 'trustflow',
          metricName: 'WorkflowFaults',
          dimensions: [{ name: 'StateMachine', value: machineName }],
          statistic: 'Sum',
          period: 300,
        },
      ),
      alarm(
        'FunctionErrorsAlarm',
        'The entrance, the notifier, the status function or the health check failed (these never use errors to say "still pending" or "rejected"; a notifier that keeps failing means an outcome was not announced, a health check that fails means trusts go unwatched).',
        sumOf('Function errors', 'e', 'AWS/Lambda', 'Errors', byFunction([notifyRequester, submitRequest, requestStatus, trustHealth])),
      ),
      alarm(
        'FunctionThrottlesAlarm',
        'A trustflow function was throttled.',
        sumOf(
          'Function throttles',
          't',
          'AWS/Lambda',
          'Throttles',
          byFunction([validateRequest, createTrust, checkTrust, notifyRequester, submitRequest, requestStatus]),
        ),
      ),
      alarm('ApiServerErrorsAlarm', 'The trust-request API answered with a 5XX.', {
        namespace: 'AWS/ApiGateway',
        metricName: '5XXError',
        dimensions: [{ name: 'ApiName', value: apiName }],
        statistic: 'Sum',
        period: 300,
      }),
      alarm('RequestRuleFailedInvocationsAlarm', 'The "Trust Requested" rule could not deliver an event to the entrance.', {
        namespace: 'AWS/Events',
        metricName: 'FailedInvocations',
        dimensions: [
          { name: 'RuleName', value: `${prefix}-trust-requested` },
          { name: 'EventBusName', value: this.eventBus.eventBusName },
        ],
        statistic: 'Sum',
        period: 300,
      }),
      alarm('DeadLetteredRequestsAlarm', 'A trust request is in the dead-letter queue - it was never started and its requester was not told.', {
        namespace: 'AWS/SQS',
        metricName: 'ApproximateNumberOfMessagesVisible',
        dimensions: [{ name: 'QueueName', value: this.deadLetterQueue.queueName }],
        statistic: 'Maximum',
        period: 300,
      }),
    ];

    const widget = (x: number, y: number, title: string, metrics: unknown[]) => ({
      type: 'metric',
      x,
      y,
      width: 12,
      height: 6,
      properties: { title, region: Aws.REGION, stat: 'Sum', period: 300, metrics },
    });
    const outcomes = ['verified', 'created', 'alreadyInPlace', 'awaitingRemoteSide', 'failed', 'timedOut', 'remoteSideTimedOut', 'rejected'];
    const remedies = ['access-denied', 'domain-unreachable', 'netbios-overlap', 'invalid-domain-name', 'unknown'];
    new cloudwatch.CfnDashboard(this, 'TrustflowDashboard', {
      dashboardName: `${prefix}-trustflow`,
      dashboardBody: stack.toJsonString({
        widgets: [
          widget(0, 0, 'Requests by outcome', outcomes.map((o) => ['trustflow', 'Requests', 'StateMachine', machineName, 'Outcome', o])),
          widget(12, 0, 'Failed trusts by remedy', remedies.map((r) => ['trustflow', 'FailedTrusts', 'StateMachine', machineName, 'Remedy', r])),
          widget(0, 6, 'Executions', [
            ['AWS/States', 'ExecutionsStarted', 'StateMachineArn', machineArn],
            ['.', 'ExecutionsSucceeded', '.', '.'],
            ['.', 'ExecutionsFailed', '.', '.'],
            ['.', 'ExecutionsTimedOut', '.', '.'],
            ['.', 'ExecutionsAborted', '.', '.'],
          ]),
          widget(12, 6, 'Faults, dead letters, API 5XX, undelivered requests', [
            ['trustflow', 'WorkflowFaults', 'StateMachine', machineName],
            ['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', this.deadLetterQueue.queueName, { stat: 'Maximum' }],
            ['AWS/ApiGateway', '5XXError', 'ApiName', apiName],
            ['AWS/Events', 'FailedInvocations', 'RuleName', `${prefix}-trust-requested`, 'EventBusName', this.eventBus.eventBusName],
          ]),
        ],
      }),
    });

    // --- outputs -------------------------------------------------------------------------------------
    if (props.createOutputs ?? true) {
      new CfnOutput(this, 'AlarmTopicArn', { description: 'Where the operator alarms go (subscribe the on-call here).', value: this.alarmTopic.topicArn });
      new CfnOutput(this, 'TrustRequestDeadLetterQueueUrl', {
        description: 'Trust requests that were never started (the rule or the entrance gave up on them).',
        value: this.deadLetterQueue.queueUrl,
      });
      new CfnOutput(this, 'TrustApiUrl', {
        description: 'POST /trust-requests and GET /trust-requests/{id} (IAM-authorised).',
        value: Fn.join('', ['https://', this.api.restApiId, '.execute-api.', Aws.REGION, '.', Aws.URL_SUFFIX, '/v1/trust-requests']),
      });
      new CfnOutput(this, 'TrustWorkflowArn', { description: 'The state machine.', value: this.stateMachine.stateMachineArn });
      new CfnOutput(this, 'EventBusName', {
        description: 'Publish "Trust Requested" events here; result events come back here.',
        value: this.eventBus.eventBusName,
      });
      new CfnOutput(this, 'NotificationTopicArn', {
        description: "The requesters' outcomes (SNS); subscribe the identity team here.",
        value: this.notificationTopic.topicArn,
      });
      new CfnOutput(this, 'RemoteDirectoryCallerRoleArns', {
        description:
          "The roles that reach a pair's other directory (validate, create, check): the TrustflowRoleArns of other-account-role.yaml in the other account.",
        value: Fn.join(',', this.remoteDirectoryCallerRoleArns),
      });
    }
    if (props.exportServiceToken ?? true) {
      this.serviceTokenExportName = `${prefix}-DirectoryTrustServiceToken`;
      new CfnOutput(this, 'DirectoryTrustServiceToken', {
        description: 'The ServiceToken of Custom::DirectoryTrust, for stacks that declare trusts (Fn::ImportValue of the export).',
        value: this.serviceToken,
        exportName: this.serviceTokenExportName,
      });
    }
    if (executionTimeout < deadline + window + 3600) {
      Annotations.of(this).addWarningV2(
        'trustflow:executionTimeout',
        'executionTimeout leaves less than an hour beyond trustDeadline + remoteSideWindow for polls and notifications',
      );
    }
  }

  /**
   * A rule on the bus for trustflow's result events (source "trustflow"), optionally only those whose
   * detail.outcome is one of `outcomes`, delivering to `target`.
   */
  onTrustResult(target: events.IRuleTarget, options: TrustResultOptions = {}): events.Rule {
    const detail: Record<string, unknown> = { ...(options.detail ?? {}) };
    if (options.outcomes !== undefined) {
      if (options.outcomes.length === 0) {
        throw new Error('onTrustResult: outcomes is empty; leave it out to match every result event');
      }
      detail.outcome = options.outcomes;
    }
    const id = options.id ?? `TrustResult${(options.outcomes ?? ['Any']).map((o) => o.charAt(0).toUpperCase() + o.slice(1)).join('')}`;
    return new events.Rule(this, id, {
      eventBus: this.eventBus,
      ruleName: options.ruleName,
      eventPattern: { source: ['trustflow'], ...(Object.keys(detail).length > 0 ? { detail } : {}) },
      targets: [target],
    });
  }

  /** Lets `grantee` send trust requests and "remote side ready" signals as events (events:PutEvents on the bus). */
  grantPutRequestEvents(grantee: iam.IGrantable): iam.Grant {
    return this.eventBus.grantPutEventsTo(grantee);
  }

  /** Lets `grantee` call the API (execute-api:Invoke on every route of stage v1). */
  grantInvokeApi(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.api.arnForExecuteApi('*', '/*', 'v1')],
    });
  }
}

/**
 * The template's OpenAPI body (TrustApi.Properties.DefinitionBody), with each integration's function
 * ARN as this construct's function, and SAM's AWS_IAM security scheme on every method (what SAM adds
 * for Auth.DefaultAuthorizer: AWS_IAM).
 */
export function trustApiBody(templatePath: string, functions: Record<string, lambda.IFunction>): any {
  const template = loadCloudFormationYaml(templatePath);
  const api = template?.Resources?.TrustApi;
  if (api?.Type !== 'AWS::Serverless::Api' || api.Properties?.DefinitionBody === undefined) {
    throw new Error(`${templatePath}: no TrustApi with a DefinitionBody`);
  }
  if (api.Properties.Auth?.DefaultAuthorizer !== 'AWS_IAM') {
    throw new Error(`${templatePath}: TrustApi's DefaultAuthorizer is no longer AWS_IAM; update trustApiBody`);
  }
  const body = structuredClone(api.Properties.DefinitionBody);
  const resolve = (node: any, where: string): any => {
    if (Array.isArray(node)) {
      return node.map((item, i) => resolve(item, `${where}[${i}]`));
    }
    if (node === null || typeof node !== 'object') {
      return node;
    }
    const keys = Object.keys(node);
    if (keys.length === 1 && keys[0] === 'Fn::Sub' && typeof node['Fn::Sub'] === 'string') {
      const variables: Record<string, string> = {};
      const text = node['Fn::Sub'].replace(/\$\{([A-Za-z0-9]+)\.Arn\}/g, (_: string, logicalId: string) => {
        const fn = functions[logicalId];
        if (fn === undefined) {
          throw new Error(`${templatePath}: TrustApi ${where} names ${logicalId}, which TrustflowWorkflow does not map`);
        }
        variables[logicalId] = fn.functionArn;
        return `\${${logicalId}}`;
      });
      return Fn.sub(text, variables);
    }
    if (keys.some((key) => key === 'Ref' || key.startsWith('Fn::'))) {
      throw new Error(`${templatePath}: TrustApi ${where} uses ${keys.join(', ')}, which trustApiBody does not translate`);
    }
    return Object.fromEntries(keys.map((key) => [key, resolve(node[key], `${where}.${key}`)]));
  };
  const resolved = resolve(body, 'DefinitionBody');
  resolved.components = resolved.components ?? {};
  resolved.components.securitySchemes = {
    ...(resolved.components.securitySchemes ?? {}),
    AWS_IAM: { type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'awsSigv4' },
  };
  for (const pathItem of Object.values<any>(resolved.paths ?? {})) {
    for (const [method, operation] of Object.entries<any>(pathItem)) {
      if (['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'x-amazon-apigateway-any-method'].includes(method)) {
        operation.security = [{ AWS_IAM: [] }];
      }
    }
  }
  return resolved;
}
