import { useEffect, useState } from 'react';
import { api, ApiError } from '../api.ts';
import { useConsole } from '../app.tsx';

type Device = {
  machine_id: string;
  store_id: string | null;
  role: string;
  created_at: string;
  revoked_at: string | null;
  last_seen_at: string | null;
};

/** Tokens: create one (shown once, with a copy button) and revoke. */
export function Devices() {
  const { t, token, session } = useConsole();
  const [devices, setDevices] = useState<Device[]>([]);
  const [form, setForm] = useState({
    storeId: session.storeId ?? '',
    machineId: '',
    role: 'device',
  });
  const [created, setCreated] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const load = () =>
    void api<{ devices: Device[] }>(token, '/api/admin/devices').then((r) => setDevices(r.devices));
  useEffect(load, [token]);
  const roleName = (r: string) =>
    r === 'admin' ? t('roleAdmin') : r === 'manager' ? t('roleManager') : t('roleDevice');
  return (
    <section aria-labelledby="devices-title">
      <h1 id="devices-title">{t('devices')}</h1>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          api<{ token: string }>(token, '/api/admin/devices', {
            method: 'POST',
            body: JSON.stringify({
              storeId: form.storeId,
              role: form.role,
              ...(form.machineId ? { machineId: form.machineId } : {}),
            }),
          }).then(
            (r) => {
              setCreated(r.token);
              setCopied(false);
              load();
            },
            (err: unknown) =>
              setError(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err)),
          );
        }}
      >
        <label>
          {t('store')}{' '}
          <input
            value={form.storeId}
            readOnly={session.role !== 'admin'}
            onChange={(e) => setForm({ ...form, storeId: e.target.value })}
          />
        </label>
        <label>
          {t('machine')}{' '}
          <input
            value={form.machineId}
            onChange={(e) => setForm({ ...form, machineId: e.target.value })}
          />
        </label>
        <label>
          {t('role')}{' '}
          <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
            <option value="device">{t('roleDevice')}</option>
            <option value="manager">{t('roleManager')}</option>
          </select>
        </label>
        <button type="submit">{t('create')}</button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {created && (
        <div className="created" role="status">
          <p>{t('created')}</p>
          <code data-token>{created}</code>{' '}
          <button
            type="button"
            onClick={() => void navigator.clipboard?.writeText(created).then(() => setCopied(true))}
          >
            {copied ? t('copied') : t('copy')}
          </button>
        </div>
      )}
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('machine')}</th>
              <th scope="col">{t('store')}</th>
              <th scope="col">{t('role')}</th>
              <th scope="col">{t('lastSeen')}</th>
              <th scope="col">{t('status')}</th>
            </tr>
          </thead>
          <tbody>
            {devices.map((d, i) => (
              <tr key={`${d.machine_id}-${i}`} data-store={d.store_id ?? ''}>
                <td>{d.machine_id}</td>
                <td>{d.store_id ?? '—'}</td>
                <td>{roleName(d.role)}</td>
                <td>{d.last_seen_at ?? '—'}</td>
                <td>
                  {d.revoked_at ? (
                    t('revoked')
                  ) : d.role === 'admin' ? (
                    t('active')
                  ) : (
                    <button
                      type="button"
                      onClick={() =>
                        void api(token, `/api/admin/devices/${encodeURIComponent(d.machine_id)}`, {
                          method: 'DELETE',
                        }).then(load)
                      }
                    >
                      {t('revoke')}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
