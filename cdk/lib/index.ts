export * from './code';
export * from './directory-trust';
export * from './remote-directory-role';
export * from './workflow';
export { loadCloudFormationYaml, parseCloudFormationYaml } from './sam-template';
export { defaultAslPath, defaultTemplatePath, trustflowRoot } from './paths';
