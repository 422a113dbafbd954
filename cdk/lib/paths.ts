import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The trustflow checkout this library sits in: the nearest directory above this file that holds
 * template.yaml and statemachine/trust_workflow.asl.json (the same from lib/ and from dist/lib/).
 */
export function trustflowRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'template.yaml')) && fs.existsSync(path.join(dir, 'statemachine', 'trust_workflow.asl.json'))) {
      return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`trustflow-cdk: no trustflow checkout (template.yaml, statemachine/) above ${__dirname}; pass aslPath and templatePath`);
    }
    dir = parent;
  }
}

/** statemachine/trust_workflow.asl.json of the checkout. */
export function defaultAslPath(): string {
  return path.join(trustflowRoot(), 'statemachine', 'trust_workflow.asl.json');
}

/** template.yaml of the checkout. */
export function defaultTemplatePath(): string {
  return path.join(trustflowRoot(), 'template.yaml');
}
