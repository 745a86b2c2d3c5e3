#!/usr/bin/env node
import { Command } from 'commander';
import dotenv from 'dotenv';
import { SyncError } from '../protocol/index.js';
import { agentCommand } from './agent-command.js';
import { deadLettersCommand } from './dead-letters-command.js';
import { deviceCommand } from './device-command.js';
import { helpTitle, t } from './messages.js';
import { opsCommands } from './ops-command.js';
import { serverCommand } from './server-command.js';
import { terminalCommands } from './terminal-command.js';
import { packageVersion } from './version.js';

dotenv.config({ quiet: true });

const program = new Command('pdv-sync')
  .description(t('help.program'))
  .version(packageVersion(), '-V, --version', t('help.version'))
  .helpOption('-h, --help', t('help.help'))
  .configureHelp({ styleTitle: helpTitle })
  .showHelpAfterError();
serverCommand(program);
deviceCommand(program);
terminalCommands(program);
agentCommand(program);
opsCommands(program);
deadLettersCommand(program);
// Every subcommand in the user's language too (commander copies settings at creation only).
for (const cmd of program.commands) {
  cmd.helpOption('-h, --help', t('help.help')).configureHelp({ styleTitle: helpTitle });
  for (const sub of cmd.commands)
    sub.helpOption('-h, --help', t('help.help')).configureHelp({ styleTitle: helpTitle });
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof SyncError) {
    console.error(`${t('error')} [${err.code}]: ${err.message}`);
    process.exit(err.code === 'CONFIG_INVALID' || err.code === 'SCHEMA_INVALID' ? 2 : 1);
  }
  console.error(err);
  process.exit(1);
});
