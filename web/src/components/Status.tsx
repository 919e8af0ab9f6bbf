import { ApiError } from '../api/client.ts';

/** A quiet loading indicator. */
export function Loading({ what }: { what: string }) {
  return (
    <div className="status-loading" role="status">
      <span className="spinner" aria-hidden /> Loading {what}…
    </div>
  );
}

/** An error with the server's message and a retry button. */
export function ErrorPanel({ error, onRetry, title }: { error: Error; onRetry?: () => void; title?: string }) {
  const status = error instanceof ApiError && error.status ? ` (HTTP ${error.status})` : '';
  return (
    <div className="panel panel-error" role="alert">
      <strong>{title ?? 'Something went wrong'}</strong>
      <p>
        {error.message}
        {status}
      </p>
      {onRetry ? (
        <button type="button" className="btn btn-outline" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
