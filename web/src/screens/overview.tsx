import { useEffect, useMemo, useRef, useState } from 'react';
import { api, openLive, type TerminalRow } from '../api.ts';
import { useConsole } from '../app.tsx';
import { ago, badgeText, type Badge } from '../i18n.ts';

const rank: Record<Badge, number> = { offline: 0, diverged: 1, syncing: 2, idle: 3, synced: 4 };

/** The badge now: a terminal silent past the server's limit is Offline even before the next fetch. */
function badgeAt(row: TerminalRow, now: number, offlineAfterMs: number): Badge {
  return now - Date.parse(row.lastSeenAt) > offlineAfterMs ? 'offline' : row.badge;
}

export function BadgeView({ badge }: { badge: Badge }) {
  const { lang } = useConsole();
  return (
    <span className={`badge badge-${badge}`} data-badge={badge}>
      {badgeText[badge][lang]}
    </span>
  );
}

/** One row per terminal, grouped by store, worst first; live over the console's WebSocket. */
export function Overview() {
  const { t, token, lang, go } = useConsole();
  const [rows, setRows] = useState<Map<string, TerminalRow>>(new Map());
  const [offlineAfterMs, setOfflineAfterMs] = useState(120_000);
  const [live, setLive] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [search, setSearch] = useState('');
  const pending = useRef<TerminalRow[]>([]);

  useEffect(() => {
    let stop: (() => void) | null = null;
    let frame = 0;
    let cancelled = false;
    // Updates arriving together are applied in one render per animation frame.
    const flush = () => {
      frame = 0;
      const batch = pending.current;
      pending.current = [];
      setRows((old) => {
        const next = new Map(old);
        for (const r of batch) next.set(r.machineId, r);
        return next;
      });
    };
    void api<{ offlineAfterSeconds: number; terminals: TerminalRow[] }>(
      token,
      '/api/console/overview',
    ).then((o) => {
      if (cancelled) return;
      setOfflineAfterMs(o.offlineAfterSeconds * 1000);
      setRows((old) => {
        const next = new Map(o.terminals.map((r) => [r.machineId, r]));
        for (const [k, v] of old)
          if (Date.parse(v.lastSeenAt) > Date.parse(next.get(k)?.lastSeenAt ?? '')) next.set(k, v);
        return next;
      });
      performance.mark('pdv-overview-loaded');
    });
    void openLive(
      token,
      (m) => {
        if (m['type'] !== 'terminal') return;
        pending.current.push(m['terminal'] as TerminalRow);
        frame ||= requestAnimationFrame(flush);
      },
      setLive,
    ).then((s) => (cancelled ? s() : (stop = s)));
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      cancelled = true;
      stop?.();
      clearInterval(tick);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [token]);

  const groups = useMemo(() => {
    const byStore = new Map<string, (TerminalRow & { shown: Badge })[]>();
    const q = search.trim().toLowerCase();
    for (const r of rows.values()) {
      if (q && !r.machineId.toLowerCase().includes(q)) continue;
      const key = r.storeId ?? '—';
      const list = byStore.get(key) ?? [];
      list.push({ ...r, shown: badgeAt(r, now, offlineAfterMs) });
      byStore.set(key, list);
    }
    const out = [...byStore.entries()].map(([store, list]) => {
      list.sort((a, b) => rank[a.shown] - rank[b.shown] || a.machineId.localeCompare(b.machineId));
      return { store, list, worst: list[0] ? rank[list[0].shown] : 9 };
    });
    // Stores with the worst terminal first.
    return out.sort((a, b) => a.worst - b.worst || a.store.localeCompare(b.store));
  }, [rows, now, offlineAfterMs, search]);

  return (
    <section aria-labelledby="overview-title">
      <div className="bar">
        <h1 id="overview-title">{t('overview')}</h1>
        <span className={live ? 'live on' : 'live'} role="status" data-live={live}>
          {live ? t('live') : t('reconnecting')}
        </span>
        <span>
          {rows.size} {t('terminals')}
        </span>
        <label>
          <span className="sr-only">{t('search')}</span>
          <input
            type="search"
            placeholder={t('search')}
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </label>
      </div>
      {rows.size === 0 && <p>{t('noTerminals')}</p>}
      {groups.map((g) => (
        <div className="table-wrap" key={g.store}>
          <table className="terminals" data-store={g.store}>
            <caption>
              {t('store')} {g.store}
            </caption>
            <thead>
              <tr>
                <th scope="col">{t('terminal')}</th>
                <th scope="col">{t('status')}</th>
                <th scope="col">{t('lastSeen')}</th>
                <th scope="col">{t('lastSync')}</th>
                <th scope="col">{t('backlog')}</th>
                <th scope="col">{t('oldestUnsent')}</th>
                <th scope="col">{t('deadLetters')}</th>
                <th scope="col">{t('openConflicts')}</th>
                <th scope="col">{t('cursorLag')}</th>
                <th scope="col">{t('versions')}</th>
              </tr>
            </thead>
            <tbody>
              {g.list.map((r) => (
                <tr key={r.machineId} data-machine={r.machineId}>
                  <th scope="row">
                    <a
                      href={`#/terminal/${encodeURIComponent(r.machineId)}`}
                      onClick={(e) => {
                        e.preventDefault();
                        go(`/terminal/${encodeURIComponent(r.machineId)}`);
                      }}
                    >
                      {r.machineId}
                    </a>
                  </th>
                  <td>
                    <BadgeView badge={r.shown} />
                  </td>
                  <td>{ago(lang, r.lastSeenAt, now)}</td>
                  <td>{ago(lang, r.lastSuccessAt, now)}</td>
                  <td className="num">{r.backlog}</td>
                  <td>{r.oldestUnsentAt ? ago(lang, r.oldestUnsentAt, now) : '—'}</td>
                  <td className="num" data-col="dead">
                    {r.deadLetters}
                  </td>
                  <td className="num">{r.openConflicts}</td>
                  <td className="num">{r.cursorLag ?? '—'}</td>
                  <td>
                    {r.sdkVersion ?? '—'} / {r.schemaVersion ?? '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
    </section>
  );
}
