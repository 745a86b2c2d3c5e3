import { useEffect, useState } from 'react';
import { api } from '../api.ts';
import { useConsole } from '../app.tsx';

type Alert = {
  id: number;
  kind: string;
  storeId: string | null;
  machineId: string | null;
  message: string;
  createdAt: string;
  resolvedAt: string | null;
};
type Audit = {
  id: number;
  actor: string;
  storeId: string | null;
  machineId: string | null;
  action: string;
  target: string;
  reason: string;
  createdAt: string;
};

/** Recent alerts and the console's audit log. */
export function Alerts() {
  const { t, token } = useConsole();
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [audit, setAudit] = useState<Audit[]>([]);
  useEffect(() => {
    void api<{ alerts: Alert[] }>(token, '/api/console/alerts').then((r) => setAlerts(r.alerts));
    void api<{ entries: Audit[] }>(token, '/api/console/audit').then((r) => setAudit(r.entries));
  }, [token]);
  return (
    <section aria-labelledby="alerts-title">
      <h1 id="alerts-title">{t('recentAlerts')}</h1>
      {alerts.length === 0 && <p>{t('none')}</p>}
      <ul className="alerts">
        {alerts.map((a) => (
          <li key={a.id} data-kind={a.kind}>
            <time dateTime={a.createdAt}>{a.createdAt}</time> · {a.storeId ?? '—'} · {a.message} ·{' '}
            {a.resolvedAt ? t('resolved') : t('open')}
          </li>
        ))}
      </ul>
      <h2>{t('audit')}</h2>
      <ul>
        {audit.map((e) => (
          <li key={e.id}>
            {e.createdAt} · {e.actor} · {e.action} · {e.target} {e.reason && `· ${e.reason}`}
          </li>
        ))}
      </ul>
    </section>
  );
}
