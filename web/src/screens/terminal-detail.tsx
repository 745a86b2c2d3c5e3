import { useCallback, useEffect, useState } from 'react';
import { api, type TerminalRow } from '../api.ts';
import { useConsole } from '../app.tsx';
import { BadgeView } from './overview.tsx';

type DeadLetter = {
  id: string;
  table: string;
  rowId: string;
  reason: string;
  code: string;
  record: Record<string, unknown> | null;
};
type Detail = {
  terminal: TerminalRow;
  timeline: {
    id: number;
    kind: string;
    at: string;
    state?: string;
    error?: string | null;
    command?: string;
    actor?: string;
    reason?: string;
  }[];
  deadLetters: DeadLetter[];
  commands: { id: number; command: string; deadLetterId: string; status: string }[];
  conflicts: {
    id: number;
    table: string;
    rowId: string;
    resolution: string;
    reason: string;
    clientRecord: unknown;
    serverRecord: unknown;
    createdAt: string;
  }[];
  reconciliations: {
    id: number;
    is_consistent: boolean;
    mismatches_count: number;
    created_at: string;
  }[];
};

type DivergentRow = {
  table: string;
  id: string;
  kind: 'changed' | 'missing-on-terminal' | 'extra-on-terminal';
  terminal: Record<string, unknown> | null;
  server: Record<string, unknown> | null;
  repair: 'server-wins' | 'resend';
  repairRequestedAt: string | null;
  foundAt: string;
};

const json = (v: unknown) => JSON.stringify(v, null, 2);

/**
 * One terminal: its timeline, dead letters (reenviar / descartar), divergent rows (reparar),
 * conflicts and reconciliations.
 */
export function TerminalDetail({ machineId }: { machineId: string }) {
  const { t, token, go } = useConsole();
  const [detail, setDetail] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [divergent, setDivergent] = useState<DivergentRow[]>([]);
  const base = `/api/console/terminals/${encodeURIComponent(machineId)}`;
  const load = useCallback(
    () =>
      Promise.all([
        api<Detail>(token, base),
        api<{ rows: DivergentRow[] }>(token, `${base}/divergent-rows`),
      ]).then(
        ([d, rows]) => {
          setDetail(d);
          setDivergent(rows.rows);
        },
        (e: unknown) => setError(String(e)),
      ),
    [token, base],
  );
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 2000);
    return () => clearInterval(timer);
  }, [load]);

  const act = async (letter: DeadLetter, action: 'resend' | 'discard') => {
    const reason = prompt(t('why'));
    if (!reason?.trim()) return;
    await api(
      token,
      `/api/console/terminals/${encodeURIComponent(machineId)}/dead-letters/${letter.id}`,
      {
        method: 'POST',
        body: JSON.stringify({ action, reason }),
      },
    );
    setNotice(t('queued'));
    void load();
  };

  const repair = async (row: DivergentRow | null) => {
    await api(token, `${base}/divergent-rows/repair`, {
      method: 'POST',
      body: JSON.stringify(row ? { table: row.table, id: row.id } : {}),
    });
    setNotice(t('repairPending'));
    void load();
  };

  if (error) return <p role="alert">{error}</p>;
  if (!detail) return <p>…</p>;
  const pendingFor = new Set(
    detail.commands.filter((c) => c.status === 'pending').map((c) => c.deadLetterId),
  );
  return (
    <section aria-labelledby="terminal-title">
      <button type="button" className="link" onClick={() => go('/')}>
        {t('back')}
      </button>
      <h1 id="terminal-title">
        {t('terminal')} {machineId} <BadgeView badge={detail.terminal.badge} />
      </h1>
      <p>
        {t('store')} {detail.terminal.storeId} · {t('backlog')} {detail.terminal.backlog} ·{' '}
        {t('cursorLag')} {detail.terminal.cursorLag ?? '—'} · {detail.terminal.sdkVersion ?? '—'}
      </p>
      {detail.terminal.lastError && <p className="error">{detail.terminal.lastError}</p>}
      {notice && <p role="status">{notice}</p>}

      <h2>{t('deadLetters')}</h2>
      {detail.deadLetters.length === 0 ? (
        <p>{t('none')}</p>
      ) : (
        <div className="table-wrap">
          <table className="dead-letters">
            <thead>
              <tr>
                <th scope="col">{t('table')}</th>
                <th scope="col">{t('row')}</th>
                <th scope="col">{t('reason')}</th>
                <th scope="col">{t('record')}</th>
                <th scope="col">
                  <span className="sr-only">{t('resend')}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {detail.deadLetters.map((d) => (
                <tr key={d.id} data-dead-letter={d.id}>
                  <td>{d.table}</td>
                  <td>{d.rowId}</td>
                  <td className="reason">
                    <code>{d.code}</code> {d.reason}
                  </td>
                  <td>
                    <pre>{json(d.record)}</pre>
                  </td>
                  <td className="actions">
                    <button
                      type="button"
                      disabled={pendingFor.has(d.id)}
                      onClick={() => void act(d, 'resend')}
                    >
                      {t('resend')}
                    </button>
                    <button
                      type="button"
                      disabled={pendingFor.has(d.id)}
                      onClick={() => void act(d, 'discard')}
                    >
                      {t('discard')}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>{t('divergentRows')}</h2>
      {divergent.length === 0 ? (
        <p>{t('none')}</p>
      ) : (
        <>
          <button type="button" onClick={() => void repair(null)}>
            {t('repairAll')}
          </button>
          {divergent.map((r) => (
            <div key={`${r.table}/${r.id}`} className="conflict" data-divergent-row={r.id}>
              <p>
                {r.table} / <code>{r.id}</code> · {t(`kind-${r.kind}`)} ·{' '}
                {r.repair === 'resend' ? t('repairResend') : t('repairServerWins')}{' '}
                <button
                  type="button"
                  disabled={r.repairRequestedAt !== null}
                  onClick={() => void repair(r)}
                >
                  {t('repair')}
                </button>
                {r.repairRequestedAt && <> · {t('repairPending')}</>}
              </p>
              <div className="side-by-side">
                <div>
                  <h3>{t('terminalValue')}</h3>
                  <pre>{json(r.terminal)}</pre>
                </div>
                <div>
                  <h3>{t('serverValue')}</h3>
                  <pre>{json(r.server)}</pre>
                </div>
              </div>
            </div>
          ))}
        </>
      )}

      <h2>{t('conflicts')}</h2>
      {detail.conflicts.length === 0 ? (
        <p>{t('none')}</p>
      ) : (
        detail.conflicts.map((c) => (
          <div key={c.id} className="conflict">
            <p>
              {c.table} / {c.rowId} · {c.resolution} · {c.reason} · {c.createdAt}
            </p>
            <div className="side-by-side">
              <div>
                <h3>{t('terminalValue')}</h3>
                <pre>{json(c.clientRecord)}</pre>
              </div>
              <div>
                <h3>{t('serverValue')}</h3>
                <pre>{json(c.serverRecord)}</pre>
              </div>
            </div>
          </div>
        ))
      )}

      <h2>{t('reconciliations')}</h2>
      {detail.reconciliations.length === 0 ? (
        <p>{t('none')}</p>
      ) : (
        <ul>
          {detail.reconciliations.map((r) => (
            <li key={r.id}>
              {r.created_at}:{' '}
              {r.is_consistent ? t('consistent') : `${t('divergent')} (${r.mismatches_count})`}
            </li>
          ))}
        </ul>
      )}

      <h2>{t('timeline')}</h2>
      <ol className="timeline">
        {detail.timeline.map((e) => (
          <li key={e.id} className={`ev-${e.kind}`}>
            <time dateTime={e.at}>{e.at}</time> —{' '}
            {e.command ? `${e.command} (${e.actor}: ${e.reason})` : e.state}
            {e.error ? ` — ${e.error}` : ''}
          </li>
        ))}
      </ol>
    </section>
  );
}
