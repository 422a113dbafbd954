import * as path from 'node:path';
import { App, CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { TrustflowCode, TrustflowWorkflow, TrustflowWorkflowProps } from '../lib';
import { loadCloudFormationYaml } from '../lib/sam-template';
import { conditionValues, EvalContext, evaluate, parameterDefaults } from './cfn-eval';

export const REPO = path.resolve(__dirname, '..', '..', '..');
export const TEMPLATE_PATH = path.join(REPO, 'template.yaml');
export const ASL_PATH = path.join(REPO, 'statemachine', 'trust_workflow.asl.json');

/** template.yaml, parsed. */
export const sam = loadCloudFormationYaml(TEMPLATE_PATH);

/** An evaluation context for template.yaml (names are its logical ids). */
export function samContext(parameters: Record<string, string | string[]> = {}): EvalContext {
  const values = parameterDefaults(sam, parameters);
  return {
    parameters: values,
    conditions: conditionValues(sam, values),
    names: {},
    identity: true,
    knownRefs: { TrustEventBus: String(values.EventBusName) },
  };
}

export interface Synthesized {
  readonly stack: Stack;
  readonly workflow: TrustflowWorkflow;
  readonly template: Template;
  readonly json: any;
  readonly ctx: EvalContext;
}

/**
 * A stack named like the SAM stack ("trustflow") holding a TrustflowWorkflow with placeholder code
 * (a temporary directory: no Rust build), synthesized, with an evaluation context whose names map
 * each CDK logical id to template.yaml's logical id of the same resource.
 */
export function synthWorkflow(props: TrustflowWorkflowProps = {}, eventBusName = 'trustflow'): Synthesized {
  const app = new App();
  const stack = new Stack(app, 'trustflow');
  const workflow = new TrustflowWorkflow(stack, 'Trustflow', { code: TrustflowCode.placeholder(), ...props });
  const template = Template.fromStack(stack);
  const names: Record<string, string> = {};
  const base = workflow.node.path + '/';
  for (const construct of stack.node.findAll()) {
    if (!CfnElement.isCfnElement(construct)) continue;
    const logicalId = stack.resolve((construct as CfnElement).logicalId) as string;
    const relative = construct.node.path.startsWith(base) ? construct.node.path.slice(base.length) : construct.node.path;
    const parts = relative.split('/');
    let name = relative;
    if (parts.length === 1) {
      name = parts[0];
    } else if (parts.length === 2 && parts[1] === 'Resource') {
      name = parts[0];
    } else if (parts.length === 3 && parts[1] === 'CurrentVersion' && parts[2] === 'Resource') {
      name = `${parts[0]}.Version`;
    } else if (parts.length === 3 && parts[1] === 'ServiceRole' && parts[2] === 'Resource') {
      // A function's role: SAM names it <FunctionLogicalId>Role.
      name = `${parts[0]}Role`;
    }
    names[logicalId] = name;
  }
  const ctx: EvalContext = { parameters: {}, conditions: {}, names, knownRefs: { TrustEventBus: eventBusName } };
  return { stack, workflow, template, json: template.toJSON(), ctx };
}

/** The resources of a synthesized template of one type, by logical id. */
export function resourcesOfType(json: any, type: string): Array<[string, any]> {
  return Object.entries<any>(json.Resources).filter(([, resource]) => resource.Type === type);
}

/** The SAM functions: logical id, resource, binary. */
export function samFunctions(): Array<{ id: string; resource: any; binary: string }> {
  return Object.entries<any>(sam.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Serverless::Function')
    .map(([id, resource]) => ({ id, resource, binary: resource.Metadata?.BuildProperties?.Binary }));
}

export { evaluate };
