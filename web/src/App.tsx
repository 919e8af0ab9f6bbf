import { useEffect } from 'react';
import { api } from './api/client.ts';
import { useTheme } from './lib/theme.ts';
import { Link, matchPath, useLocation } from './lib/router.tsx';
import { useAsync } from './lib/use-async.ts';
import { AdminHealthPage } from './pages/AdminHealthPage.tsx';
import { CatalogPage } from './pages/CatalogPage.tsx';
import { ExamAttemptPage } from './pages/ExamAttemptPage.tsx';
import { ExamsPage } from './pages/ExamsPage.tsx';
import { HistoryPage } from './pages/HistoryPage.tsx';
import { LabPage } from './pages/LabPage.tsx';

/** The app shell: header, theme toggle, and the page for the current path. */
export function App() {
  const { pathname } = useLocation();
  const [theme, setTheme] = useTheme();
  const session = useAsync((signal) => api.session.get(signal), []);

  useEffect(() => {
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [pathname]);

  let page;
  const lab = matchPath('/labs/:id', pathname);
  const examAttempt = matchPath('/exams/attempts/:id', pathname);
  const isAdmin = session.status === 'ok' && session.value.learner?.role === 'admin';
  if (pathname === '/') page = <CatalogPage />;
  else if (pathname === '/admin/health') page = <AdminHealthPage />;
  else if (lab) page = <LabPage id={lab.id!} key={lab.id} />;
  else if (pathname === '/exams') page = <ExamsPage />;
  else if (examAttempt) page = <ExamAttemptPage id={examAttempt.id!} key={examAttempt.id} />;
  else if (pathname === '/history') page = <HistoryPage />;
  else
    page = (
      <div className="page">
        <h1>Page not found</h1>
        <p>
          <Link to="/">Back to all labs</Link>
        </p>
      </div>
    );

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to="/" className="brand" aria-label="kubedrill home">
          <span className="brand-mark" aria-hidden>
            k
          </span>
          kubedrill
        </Link>
        <nav className="topnav" aria-label="Main">
          <Link to="/" aria-current={pathname === '/' ? 'page' : undefined}>
            Labs
          </Link>
          <Link to="/exams" aria-current={pathname.startsWith('/exams') ? 'page' : undefined}>
            Exams
          </Link>
          <Link to="/history" aria-current={pathname === '/history' ? 'page' : undefined}>
            History
          </Link>
          {isAdmin ? (
            <Link to="/admin/health" aria-current={pathname === '/admin/health' ? 'page' : undefined}>
              Host health
            </Link>
          ) : null}
        </nav>
        <div className="topbar-right">
          {session.status === 'ok' && session.value.learner ? (
            <span className="muted" title={`signed in as ${session.value.learner.username} (${session.value.learner.role})`}>
              {session.value.learner.displayName}
            </span>
          ) : null}
          <button
            type="button"
            className="btn btn-ghost btn-icon"
            aria-label={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
            title={`Switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
            onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
          >
            {theme === 'dark' ? '☀' : '☾'}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}
