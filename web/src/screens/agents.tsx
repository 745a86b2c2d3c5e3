import { useEffect, useState } from 'react';
import { api } from '../api.ts';
import { useConsole } from '../app.tsx';

type Quebra = Record<string, unknown>;
type Store = {
  storeId: string;
  latestWindowTo: string | null;
  lastSeenAt: string;
  windowsBehind: number | null;
  recent: { syncId: string; windowTo: string; warnings: string[]; quebras: Quebra[] }[];
};

/** Per store: the agent's last window, warnings and closed shifts with their quebra de caixa. */
export function Agents() {
  const { t, token } = useConsole();
  const [stores, setStores] = useState<Store[]>([]);
  useEffect(
    () =>
      void api<{ stores: Store[] }>(token, '/api/console/agents').then((r) => setStores(r.stores)),
    [token],
  );
  return (
    <section aria-labelledby="agents-title">
      <h1 id="agents-title">{t('agents')}</h1>
      {stores.length === 0 && <p>{t('none')}</p>}
      {stores.map((s) => {
        const warnings = [...new Set(s.recent.flatMap((r) => r.warnings))];
        const quebras = s.recent.flatMap((r) => r.quebras);
        return (
          <article key={s.storeId} className="agent">
            <h2>
              {t('store')} {s.storeId}
            </h2>
            <p>
              {t('lastWindow')}: {s.latestWindowTo ?? '—'} · {t('windowsBehind')}:{' '}
              {s.windowsBehind ?? '—'}
            </p>
            <p>
              {t('warnings')}: {warnings.length ? warnings.join(', ') : '—'}
            </p>
            <h3>{t('shifts')}</h3>
            {quebras.length === 0 ? (
              <p>{t('none')}</p>
            ) : (
              <pre>{JSON.stringify(quebras, null, 2)}</pre>
            )}
          </article>
        );
      })}
    </section>
  );
}
