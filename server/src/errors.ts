/** An expected failure: carries an HTTP status and a stable machine-readable code. */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** 404 for a thing identified by kind and id, e.g. notFound('lab', 'netpol-basics'). */
export function notFound(kind: string, id: string): AppError {
  return new AppError(404, `${kind}_not_found`, `no ${kind} with id "${id}"`, { id });
}

// One errorMessage for the server, the graders and the scripts (graders may not import the server).
export { errorMessage } from '../../graders/src/shared/error-message.ts';
