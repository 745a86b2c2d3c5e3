import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { LocalStore } from '../client/index.js';
import { t, tr } from './messages.js';

type Flags = { db: string; json?: boolean; all?: boolean };

/** Opens an existing till database only: a mistyped path must not create an empty one. */
function openTill(db: string): LocalStore | null {
  if (!existsSync(db)) {
    console.error(t('deadLettersNoDb', { db }));
    process.exitCode = 2;
    return null;
  }
  return new LocalStore(db);
}

function idsOf(args: string[], flags: Flags): number[] | null {
  const ids = args.map((a) => Number(a.replace(/^#/, ''))).filter((n) => Number.isInteger(n));
  if (flags.all) return [];
  if (!ids.length || ids.length !== args.length) {
    console.error(t('deadLettersNeedIds'));
    process.exitCode = 2;
    return null;
  }
  return ids;
}

/** `pdv-sync dead-letters list|retry|discard --db FILE`: the records the server refused at this till. */
export function deadLettersCommand(program: Command): void {
  const cmd = program
    .command('dead-letters')
    .description(
      tr(
        'records the server refused at this till: list, retry or discard them',
        'registros que o servidor recusou neste caixa: listar, reenviar ou descartar',
      ),
    );
  cmd
    .command('list')
    .description(
      tr('list the dead letters with their reasons', 'lista as dead letters com seus motivos'),
    )
    .option(
      '--db <file>',
      tr("the terminal's local SQLite database", 'o banco SQLite local do terminal'),
      './pdv.db',
    )
    .option('--json', tr('one JSON document', 'um documento JSON'))
    .action((flags: Flags) => {
      const store = openTill(flags.db);
      if (!store) return;
      try {
        const rows = store.deadLetters();
        if (flags.json) console.log(JSON.stringify(rows, null, 2));
        else if (!rows.length) console.log(t('deadLettersNone'));
        else
          for (const r of rows)
            console.log(
              t('deadLetterLine', {
                id: String(r.id),
                table: r.table,
                rowId: r.rowId,
                code: r.code,
                reason: r.reason,
                at: r.createdAt,
              }),
            );
      } finally {
        store.close();
      }
    });
  for (const action of ['retry', 'discard'] as const)
    cmd
      .command(`${action} [ids...]`)
      .description(
        action === 'retry'
          ? 'put dead letters back in the outbox (new event id); sent on the next sync'
          : 'delete dead letters for good',
      )
      .option(
        '--db <file>',
        tr("the terminal's local SQLite database", 'o banco SQLite local do terminal'),
        './pdv.db',
      )
      .option('--all', tr('every dead letter', 'todas as dead letters'))
      .action((args: string[], flags: Flags) => {
        const ids = idsOf(args, flags);
        if (!ids) return;
        const store = openTill(flags.db);
        if (!store) return;
        try {
          const count =
            action === 'retry' ? store.retryDeadLetters(ids) : store.discardDeadLetters(ids);
          console.log(
            t(action === 'retry' ? 'deadLettersRetried' : 'deadLettersDiscarded', {
              count: String(count),
            }),
          );
        } finally {
          store.close();
        }
      });
}
