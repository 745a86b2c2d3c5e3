import { createContext, useCallback, useContext, useEffect, useState } from 'react';
import { api, ApiError, savedToken, saveToken, type Session } from './api.ts';
import { languages, translate, type Lang, type TextKey } from './i18n.ts';
import { Agents } from './screens/agents.tsx';
import { Alerts } from './screens/alerts.tsx';
import { Conflicts } from './screens/conflicts.tsx';
import { Devices } from './screens/devices.tsx';
import { Overview } from './screens/overview.tsx';
import { TerminalDetail } from './screens/terminal-detail.tsx';

export type Ctx = {
  lang: Lang;
  t: (key: TextKey, vars?: Record<string, string | number>) => string;
  token: string;
  session: Session;
  go: (path: string) => void;
};
const ConsoleContext = createContext<Ctx | null>(null);
export const useConsole = (): Ctx => useContext(ConsoleContext)!;

function useHashRoute(): [string, (p: string) => void] {
  const read = () => location.hash.replace(/^#/, '') || '/';
  const [path, setPath] = useState(read);
  useEffect(() => {
    const on = () => setPath(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return [path, (p) => (location.hash = p)];
}

export function App() {
  const [lang, setLang] = useState<Lang>(
    (localStorage.getItem('pdv-sync-console-lang') as Lang | null) ?? 'pt-BR',
  );
  const [token, setToken] = useState<string | null>(savedToken());
  const [session, setSession] = useState<Session | null>(null);
  const [path, go] = useHashRoute();
  const t = useCallback(
    (key: TextKey, vars?: Record<string, string | number>) => translate(lang, key, vars),
    [lang],
  );
  useEffect(() => {
    document.documentElement.lang = lang;
    localStorage.setItem('pdv-sync-console-lang', lang);
  }, [lang]);
  useEffect(() => {
    if (!token) return;
    api<Session>(token, '/api/session').then(setSession, () => {
      saveToken(null, false);
      setToken(null);
    });
  }, [token]);

  const langSwitch = (
    <label className="lang">
      {t('language')}{' '}
      <select value={lang} onChange={(e) => setLang(e.target.value as Lang)}>
        {languages.map((l) => (
          <option key={l} value={l}>
            {l === 'pt-BR' ? 'Português (Brasil)' : 'English'}
          </option>
        ))}
      </select>
    </label>
  );

  if (!token || !session)
    return (
      <main className="login">
        <h1>{t('title')}</h1>
        {langSwitch}
        <Login
          t={t}
          onSignedIn={(tok, s) => {
            setSession(s);
            setToken(tok);
          }}
        />
      </main>
    );

  const ctx: Ctx = { lang, t, token, session, go };
  const nav: [string, TextKey][] = [
    ['/', 'overview'],
    ['/conflicts', 'conflicts'],
    ['/devices', 'devices'],
    ['/agents', 'agents'],
    ['/alerts', 'alerts'],
  ];
  let screen;
  if (path.startsWith('/terminal/'))
    screen = <TerminalDetail machineId={decodeURIComponent(path.slice('/terminal/'.length))} />;
  else if (path === '/conflicts') screen = <Conflicts />;
  else if (path === '/devices') screen = <Devices />;
  else if (path === '/agents') screen = <Agents />;
  else if (path === '/alerts') screen = <Alerts />;
  else screen = <Overview />;

  return (
    <ConsoleContext.Provider value={ctx}>
      <header className="top">
        <strong className="brand">pdv-sync</strong>
        <nav aria-label={t('title')}>
          {nav.map(([p, key]) => (
            <a key={p} href={`#${p}`} aria-current={path === p ? 'page' : undefined}>
              {t(key)}
            </a>
          ))}
        </nav>
        <span className="who">
          {session.role === 'admin' ? t('roleAdmin') : `${t('roleManager')} · ${session.storeId}`}
        </span>
        {langSwitch}
        <button
          type="button"
          onClick={() => {
            saveToken(null, false);
            setToken(null);
            setSession(null);
          }}
        >
          {t('signOut')}
        </button>
      </header>
      <main>{screen}</main>
    </ConsoleContext.Provider>
  );
}

function Login({
  t,
  onSignedIn,
}: {
  t: Ctx['t'];
  onSignedIn: (token: string, session: Session) => void;
}) {
  const [value, setValue] = useState('');
  const [stay, setStay] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        const token = value.trim();
        api<Session>(token, '/api/session').then(
          (s) => {
            if (s.role === 'device') return setError(t('badToken'));
            saveToken(token, stay);
            onSignedIn(token, s);
          },
          (err: unknown) =>
            setError(err instanceof ApiError && err.status === 401 ? t('badToken') : String(err)),
        );
      }}
    >
      <label htmlFor="token">{t('token')}</label>
      <input
        id="token"
        type="password"
        autoComplete="current-password"
        value={value}
        onChange={(e) => setValue(e.target.value)}
      />
      <label className="check">
        <input type="checkbox" checked={stay} onChange={(e) => setStay(e.target.checked)} />{' '}
        {t('staySignedIn')}
      </label>
      <button type="submit">{t('signIn')}</button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  );
}
