#!/usr/bin/env node
import { Command } from 'commander';
import dotenv from 'dotenv';
import { SyncError } from '../protocol/index.js';
import { agentCommand } from './agent-command.js';
import { deadLettersCommand } from './dead-letters-command.js';
import { deviceCommand } from './device-command.js';
import { t } from './messages.js';
import { serverCommand } from './server-command.js';
import { terminalCommands } from './terminal-command.js';

dotenv.config({ quiet: true });

const program = new Command('pdv-sync')
  .description('pdv-sync: offline-first synchronization for PDV (point-of-sale) systems')
  .showHelpAfterError();
serverCommand(program);
deviceCommand(program);
terminalCommands(program);
agentCommand(program);
deadLettersCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof SyncError) {
    console.error(`${t('error')} [${err.code}]: ${err.message}`);
    process.exit(err.code === 'CONFIG_INVALID' || err.code === 'SCHEMA_INVALID' ? 2 : 1);
  }
  console.error(err);
  process.exit(1);
});
