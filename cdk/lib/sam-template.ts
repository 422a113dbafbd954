// Reads template.yaml as CloudFormation does: the short forms (!Ref, !Sub, !GetAtt, ...) become
// their long forms (Ref, Fn::Sub, Fn::GetAtt, ...). Used at synth time for the API's OpenAPI body
// (template.yaml holds the API's one definition) and by the parity tests for everything else.
import * as fs from 'node:fs';
import * as YAML from 'yaml';

/** The short-form tags CloudFormation accepts, and the long form each one stands for. */
const TAGS: Record<string, string> = {
  '!Ref': 'Ref',
  '!Condition': 'Condition',
  '!Sub': 'Fn::Sub',
  '!GetAtt': 'Fn::GetAtt',
  '!Join': 'Fn::Join',
  '!If': 'Fn::If',
  '!Equals': 'Fn::Equals',
  '!Not': 'Fn::Not',
  '!And': 'Fn::And',
  '!Or': 'Fn::Or',
  '!Select': 'Fn::Select',
  '!Split': 'Fn::Split',
  '!FindInMap': 'Fn::FindInMap',
  '!ImportValue': 'Fn::ImportValue',
  '!GetAZs': 'Fn::GetAZs',
  '!Base64': 'Fn::Base64',
  '!Cidr': 'Fn::Cidr',
  '!Transform': 'Fn::Transform',
};

function convert(node: unknown): unknown {
  let value: unknown;
  if (YAML.isMap(node)) {
    const object: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = YAML.isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      object[key] = convert(pair.value);
    }
    value = object;
  } else if (YAML.isSeq(node)) {
    value = node.items.map(convert);
  } else if (YAML.isScalar(node)) {
    value = node.value;
  } else if (YAML.isAlias(node)) {
    throw new Error('template.yaml: YAML aliases are not supported');
  } else {
    value = node ?? null;
  }
  const tag = YAML.isNode(node) ? node.tag : undefined;
  if (tag === undefined || !tag.startsWith('!')) {
    return value;
  }
  const longForm = TAGS[tag];
  if (longForm === undefined) {
    throw new Error(`template.yaml: unknown tag ${tag}`);
  }
  if (longForm === 'Fn::GetAtt' && typeof value === 'string') {
    // !GetAtt Resource.Attribute (the attribute may itself contain dots).
    const dot = value.indexOf('.');
    return { 'Fn::GetAtt': [value.slice(0, dot), value.slice(dot + 1)] };
  }
  return { [longForm]: value };
}

/** Parses CloudFormation YAML text into the JSON form of the template. */
export function parseCloudFormationYaml(text: string): any {
  const document = YAML.parseDocument(text, { logLevel: 'silent', uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new Error(`template.yaml: ${document.errors.map((e) => e.message).join('; ')}`);
  }
  return convert(document.contents);
}

/** Reads and parses a CloudFormation YAML file. */
export function loadCloudFormationYaml(path: string): any {
  return parseCloudFormationYaml(fs.readFileSync(path, 'utf8'));
}
