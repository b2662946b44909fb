import type { Command } from 'commander';
import { asyncCommand } from './async-command.js';
import { batchCommand } from './batch-command.js';
import { rolloutsCommand } from './rollouts-command.js';
import { applyCommand } from './apply-command.js';
import { artifactsCommand } from './artifacts-command.js';
import { reposCommand } from './repos-command.js';
import { notificationsCommand } from './notifications-command.js';
import { pipelineCommand } from './pipeline-command.js';
import { runsCommand } from './runs-command.js';
import { configCommand } from './config-command.js';
import { decisionsCommand } from './decisions-command.js';
import { demoCommand } from './demo-command.js';
import { endpointsCommand } from './endpoints-command.js';
import { featuresCommand } from './features-command.js';
import { jobsCommand } from './jobs-command.js';
import { keysCommand } from './keys-command.js';
import { migrateCommand } from './migrate-command.js';
import { modelsCommand } from './models-command.js';
import { ncfCommand } from './ncf-command.js';
import { serverCommands } from './server-command.js';
import { stepIoCommand } from './step-io-command.js';
import { workerCommand } from './worker-command.js';

/** Adds one command (or command group) to the program. */
export type CommandModule = (program: Command) => void;

/** Every command module, in help order. Add one line per command group. */
export const commandModules: CommandModule[] = [
  demoCommand,
  serverCommands, migrateCommand, configCommand, keysCommand, workerCommand, jobsCommand, endpointsCommand, modelsCommand, rolloutsCommand, runsCommand, ncfCommand, pipelineCommand, artifactsCommand, featuresCommand, applyCommand, reposCommand, notificationsCommand, decisionsCommand, batchCommand, asyncCommand, stepIoCommand];
