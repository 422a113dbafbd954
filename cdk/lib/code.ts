import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { trustflowRoot } from './paths';

/** The Rust binaries, one per function (template.yaml: Metadata.BuildProperties.Binary). */
export const TRUSTFLOW_BINARIES = [
  'validate-request',
  'create-trust',
  'check-trust',
  'notify-requester',
  'request-status',
  'submit-request',
  'remote-side-ready',
  'trust-health',
  'directory-trust-resource',
] as const;

/** One of the trustflow functions, by its binary name. */
export type TrustflowBinary = (typeof TRUSTFLOW_BINARIES)[number];

/** Where each function's code comes from. */
export type TrustflowCodeSource = (binary: TrustflowBinary) => lambda.Code;

/** The logical id SAM builds each binary under (.aws-sam/build/<LogicalId>/bootstrap). */
export const SAM_LOGICAL_IDS: Record<TrustflowBinary, string> = {
  'validate-request': 'ValidateRequestFunction',
  'create-trust': 'CreateTrustFunction',
  'check-trust': 'CheckTrustFunction',
  'notify-requester': 'NotifyRequesterFunction',
  'request-status': 'RequestStatusFunction',
  'submit-request': 'SubmitRequestFunction',
  'remote-side-ready': 'RemoteSideReadyFunction',
  'trust-health': 'TrustHealthFunction',
  'directory-trust-resource': 'DirectoryTrustResourceFunction',
};

function bootstrapDir(dir: string, binary: TrustflowBinary, howToBuild: string): lambda.Code {
  if (!fs.existsSync(path.join(dir, 'bootstrap'))) {
    throw new Error(`trustflow-cdk: no ${binary} build at ${dir}/bootstrap. ${howToBuild}`);
  }
  return lambda.Code.fromAsset(dir);
}

/** One placeholder directory per process. */
let placeholderDir: string | undefined;

/** Ready-made code sources. */
export class TrustflowCode {
  /**
   * The default: the output of `sam build` (scripts/build-arm64.sh), the very artifacts `sam deploy`
   * uploads: .aws-sam/build/<LogicalId>/bootstrap, built for arm64 by SAM's rust-cargolambda method.
   */
  static fromSamBuild(buildDir: string = path.join(trustflowRoot(), '.aws-sam', 'build')): TrustflowCodeSource {
    return (binary) =>
      bootstrapDir(path.join(buildDir, SAM_LOGICAL_IDS[binary]), binary, 'Run `sam build` at the repository root (scripts/build-arm64.sh) first.');
  }

  /**
   * The output of `cargo lambda build --release --arm64` at the workspace root:
   * target/lambda/<binary>/bootstrap. The functions are arm64: a build without --arm64 does not run.
   */
  static fromCargoLambdaBuild(lambdaDir: string = path.join(trustflowRoot(), 'target', 'lambda')): TrustflowCodeSource {
    return (binary) =>
      bootstrapDir(path.join(lambdaDir, binary), binary, 'Run `cargo lambda build --release --arm64` at the repository root first.');
  }

  /**
   * A stand-in for every function (a bootstrap that exits 1), for synthesizing without a Rust build:
   * tests, and looking at the template. Never deploy it.
   */
  static placeholder(): TrustflowCodeSource {
    if (placeholderDir === undefined || !fs.existsSync(path.join(placeholderDir, 'bootstrap'))) {
      placeholderDir = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'trustflow-placeholder-'));
      fs.writeFileSync(
        path.join(placeholderDir, 'bootstrap'),
        '#!/bin/sh\necho "trustflow placeholder code: build the functions and deploy again" >&2\nexit 1\n',
        { mode: 0o755 },
      );
      // Synthesis copies the asset into the cloud assembly: the directory is not needed after the process.
      const made = placeholderDir;
      process.once('exit', () => fs.rmSync(made, { recursive: true, force: true }));
    }
    const dir = placeholderDir;
    return () => lambda.Code.fromAsset(dir);
  }
}
