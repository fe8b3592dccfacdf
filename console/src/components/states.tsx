import type { ReactNode } from 'react';

/** A designed "nothing here yet" panel with what to do next. */
export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <section className="state state-empty" aria-live="polite">
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** A loading placeholder that says what is loading (screen readers hear it once). */
export function LoadingState({ label, rows = 3 }: { label: string; rows?: number }) {
  return (
    <div className="state state-loading" role="status" aria-busy="true">
      <span className="visually-hidden">{label}</span>
      {Array.from({ length: rows }, (_, i) => (
        <div key={i} className="skeleton" aria-hidden="true" />
      ))}
    </div>
  );
}

/** A failure with its plain message and, when it can help, a retry button. */
export function ErrorState({ title = 'Something went wrong', message, onRetry }: { title?: string; message: string; onRetry?: () => void }) {
  return (
    <section className="state state-error" role="alert">
      <h2>{title}</h2>
      <p>{message}</p>
      {onRetry && (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </section>
  );
}
