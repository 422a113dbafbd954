// An example CDK app: the trustflow workflow, a portal's rule for its outcomes, and one trust
// declared as a resource. Synth it offline without a Rust build (placeholder code, never deploy it):
//   cd cdk && npm ci && npm run synth:example
// Deploy it after `sam build` at the repository root (the functions' arm64 builds):
//   cd cdk && npm run build && cd example && npx cdk deploy --all
import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { DirectoryTrust, DirectoryTrustServiceToken, TrustflowCode, TrustflowWorkflow } from '../lib';

const app = new App();
// -c trustflow:placeholderCode=true: synthesize without the functions' builds (the template only).
const placeholder = ['true', true].includes(app.node.tryGetContext('trustflow:placeholderCode'));

const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
const stack = new Stack(app, 'trustflow', { env });
const trustflow = new TrustflowWorkflow(stack, 'Trustflow', {
  code: placeholder ? TrustflowCode.placeholder() : TrustflowCode.fromSamBuild(),
  allowedRequestSources: ['portal.identity'],
  remoteSideWindow: Duration.hours(48),
  executionTimeout: Duration.hours(52),
  deleteFailedTrusts: true,
  healthCheckDirectoryIds: ['d-1234567890'],
});

// The portal hears about verified and failed trusts (match its tickets on detail.requestId).
const portalInbox = new sqs.Queue(stack, 'PortalInbox', { encryption: sqs.QueueEncryption.SQS_MANAGED });
trustflow.onTrustResult(new targets.SqsQueue(portalInbox), { outcomes: ['verified', 'failed', 'rejected'] });

// One trust, declared in a stack of its own (it could live in another app: then use
// DirectoryTrustServiceToken.fromStackExport('trustflow')).
const trusts = new Stack(app, 'trustflow-trusts', { env });
trusts.addStackDependency(stack);
const corp = new DirectoryTrust(trusts, 'CorpTrust', {
  serviceToken: DirectoryTrustServiceToken.fromStackExport('trustflow'),
  directoryId: 'd-1234567890',
  remoteDomainName: 'corp.example.com',
  trustDirection: 'Two-Way',
  conditionalForwarderIpAddrs: ['172.16.10.153', '172.16.10.154'],
  trustPasswordSecret: 'trustflow/corp.example.com',
  jsonKey: 'password',
  waitFor: 'Created',
  serviceTimeout: Duration.minutes(30),
});
new CfnOutput(trusts, 'CorpTrustId', { value: corp.trustId });
new CfnOutput(trusts, 'CorpTrustState', { value: corp.trustState });
