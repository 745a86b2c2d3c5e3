import { useEffect, useState } from 'react';
import { api } from '../api.ts';
import { useConsole } from '../app.tsx';

type Conflict = {
  id: number;
  storeId: string | null;
  machineId: string;
  table: string;
  rowId: string;
  resolution: string;
  reason: string;
  clientRecord: unknown;
  serverRecord: unknown;
  createdAt: string;
};

/** Conflicts with filters by store, table and period; both rows side by side. */
export function Conflicts() {
  const { t, token, session } = useConsole();
  const [filters, setFilters] = useState({ store: '', table: '', from: '', to: '' });
  const [list, setList] = useState<Conflict[]>([]);
  const load = () => {
    const q = new URLSearchParams();
    if (filters.store) q.set('store', filters.store);
    if (filters.table) q.set('table', filters.table);
    if (filters.from) q.set('from', new Date(filters.from).toISOString());
    if (filters.to) q.set('to', new Date(filters.to).toISOString());
    void api<{ conflicts: Conflict[] }>(token, `/api/console/conflicts?${q}`).then((r) =>
      setList(r.conflicts),
    );
  };
  useEffect(load, [token]);
  const field = (key: keyof typeof filters, label: string, type = 'text') => (
    <label>
      {label}{' '}
      <input
        type={type}
        value={filters[key]}
        onChange={(e) => setFilters({ ...filters, [key]: e.target.value })}
      />
    </label>
  );
  return (
    <section aria-labelledby="conflicts-title">
      <h1 id="conflicts-title">{t('conflicts')}</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          load();
        }}
      >
        {session.role === 'admin' && field('store', t('store'))}
        {field('table', t('table'))}
        {field('from', t('from'), 'datetime-local')}
        {field('to', t('to'), 'datetime-local')}
        <button type="submit">{t('filter')}</button>
      </form>
      {list.length === 0 && <p>{t('none')}</p>}
      {list.map((c) => (
        <div key={c.id} className="conflict" data-store={c.storeId}>
          <p>
            {c.storeId} · {c.machineId} · {c.table}/{c.rowId} · {c.resolution} · {c.createdAt}
          </p>
          <div className="side-by-side">
            <div>
              <h2>{t('terminalValue')}</h2>
              <pre>{JSON.stringify(c.clientRecord, null, 2)}</pre>
            </div>
            <div>
              <h2>{t('serverValue')}</h2>
              <pre>{JSON.stringify(c.serverRecord, null, 2)}</pre>
            </div>
          </div>
        </div>
      ))}
    </section>
  );
}
