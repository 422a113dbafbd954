export * from './code';
export * from './directory-trust';
export * from './workflow';
export { loadCloudFormationYaml, parseCloudFormationYaml } from './sam-template';
export { defaultAslPath, defaultTemplatePath, trustflowRoot } from './paths';
