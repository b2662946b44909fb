import type { Command } from 'commander';
import { readStepIoSpec, stageIn, stageOut } from '../../pipelines/index.js';
import { createArtifactStore } from '../../storage/artifacts/index.js';
import { configFrom } from '../cli-context.js';
import type { CommandModule } from './index.js';

/**
 * `capstan step-io download|upload`: the init and finishing containers of a Kubernetes step. They
 * read the step's spec from CAPSTAN_STEP_IO and the store from the usual configuration, so the
 * user's image needs nothing of Capstan.
 */
export const stepIoCommand: CommandModule = (program: Command) => {
  const io = program.command('step-io').description('stage inputs into and outputs out of a Kubernetes step pod (used inside step Jobs)');
  io.command('download')
    .description('download the code snapshot and inputs and write the hyperparameters file')
    .option('--dir <dir>', 'the shared volume of the pod', '/capstan')
    .action(async (opts: { dir: string }, cmd: Command) => {
      const spec = readStepIoSpec();
      const store = await createArtifactStore(configFrom(cmd));
      await stageIn(store, spec, opts.dir);
      process.stdout.write(`staged ${Object.keys(spec.inputs).length} input(s) into ${opts.dir}\n`);
    });
  io.command('upload')
    .description('wait for the step command to exit, then upload its outputs after a zero exit')
    .option('--dir <dir>', 'the shared volume of the pod', '/capstan')
    .action(async (opts: { dir: string }, cmd: Command) => {
      const spec = readStepIoSpec();
      const store = await createArtifactStore(configFrom(cmd));
      const code = await stageOut(store, spec, opts.dir);
      process.stdout.write(code === 0 ? `uploaded outputs under ${spec.outputPrefix}\n` : `the step exited with ${code}; nothing uploaded\n`);
    });
};
