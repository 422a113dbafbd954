// A small evaluator of CloudFormation intrinsics, for comparing template.yaml with the synthesized
// CDK template: pseudo parameters and parameters become values, and a reference to a resource becomes
// `ref(<name>)` / `att(<name>.<attribute>)`, where <name> is template.yaml's logical id on both sides
// (the CDK side maps its logical ids to those first). Two properties are equal when they evaluate equal.

export interface EvalContext {
  /** Parameter values (template.yaml's defaults, or the ones a test sets). */
  readonly parameters: Record<string, string | string[]>;
  /** Condition values. */
  readonly conditions: Record<string, boolean>;
  /** The name each logical id stands for. */
  readonly names: Record<string, string>;
  /** Every logical id stands for itself (template.yaml). */
  readonly identity?: boolean;
  /** What Ref of a resource is known to resolve to (an event bus: its name). */
  readonly knownRefs?: Record<string, string>;
}

export const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::StackName': 'trustflow',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::NoValue': '',
};

function nameOf(ctx: EvalContext, logicalId: string): string {
  return ctx.identity ? logicalId : (ctx.names[logicalId] ?? `unmapped:${logicalId}`);
}

function ref(ctx: EvalContext, target: string): string | string[] {
  if (target in PSEUDO) return PSEUDO[target];
  if (target in ctx.parameters) return ctx.parameters[target];
  const name = nameOf(ctx, target);
  return ctx.knownRefs?.[name] ?? `ref(${name})`;
}

function att(ctx: EvalContext, logicalId: string, attribute: string): string {
  return `att(${nameOf(ctx, logicalId)}.${attribute})`;
}

function sub(ctx: EvalContext, text: string, variables: Record<string, unknown>): string {
  return text.replace(/\$\{([^}]+)\}/g, (whole, inner: string) => {
    if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
    if (inner in variables) return String(evaluate(variables[inner], ctx));
    if (inner.includes('.') && !(inner in PSEUDO)) {
      const dot = inner.indexOf('.');
      return att(ctx, inner.slice(0, dot), inner.slice(dot + 1));
    }
    const value = ref(ctx, inner);
    if (Array.isArray(value)) throw new Error(`Fn::Sub of the list ${inner} in ${whole}`);
    return value;
  });
}

export function evaluate(node: any, ctx: EvalContext): any {
  if (Array.isArray(node)) return node.map((item) => evaluate(item, ctx));
  if (node === null || typeof node !== 'object') return node;
  const keys = Object.keys(node);
  if (keys.length === 1) {
    const [key] = keys;
    const arg = node[key];
    switch (key) {
      case 'Ref':
        return ref(ctx, arg);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(arg) ? arg : [arg.slice(0, arg.indexOf('.')), arg.slice(arg.indexOf('.') + 1)];
        return att(ctx, logicalId, attribute);
      }
      case 'Fn::Sub':
        return Array.isArray(arg) ? sub(ctx, arg[0], arg[1]) : sub(ctx, arg, {});
      case 'Fn::Join': {
        const [separator, list] = arg;
        const items = evaluate(list, ctx);
        return (items as unknown[]).flat().join(separator);
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = arg;
        if (!(condition in ctx.conditions)) throw new Error(`unknown condition ${condition}`);
        return evaluate(ctx.conditions[condition] ? whenTrue : whenFalse, ctx);
      }
      case 'Fn::Equals': {
        const [a, b] = evaluate(arg, ctx);
        return JSON.stringify(a) === JSON.stringify(b);
      }
      case 'Fn::Not':
        return !evaluate(arg[0], ctx);
      case 'Fn::Select': {
        const [index, list] = evaluate(arg, ctx);
        return list[Number(index)];
      }
      case 'Fn::Split': {
        const [separator, text] = evaluate(arg, ctx);
        return String(text).split(separator);
      }
      case 'Fn::ImportValue':
        return `import(${evaluate(arg, ctx)})`;
      default:
        if (key.startsWith('Fn::')) throw new Error(`the evaluator does not know ${key}`);
    }
  }
  return Object.fromEntries(keys.map((key) => [key, evaluate(node[key], ctx)]));
}

/** template.yaml's parameters at their defaults (CommaDelimitedList as lists), with overrides. */
export function parameterDefaults(template: any, overrides: Record<string, string | string[]> = {}): Record<string, string | string[]> {
  const values: Record<string, string | string[]> = {};
  for (const [name, parameter] of Object.entries<any>(template.Parameters ?? {})) {
    const value = String(parameter.Default ?? '');
    values[name] = parameter.Type === 'CommaDelimitedList' ? value.split(',') : value;
  }
  return { ...values, ...overrides };
}

/** template.yaml's conditions, evaluated. */
export function conditionValues(template: any, parameters: Record<string, string | string[]>): Record<string, boolean> {
  const ctx: EvalContext = { parameters, conditions: {}, names: {} };
  return Object.fromEntries(Object.entries<any>(template.Conditions ?? {}).map(([name, expression]) => [name, Boolean(evaluate(expression, ctx))]));
}
