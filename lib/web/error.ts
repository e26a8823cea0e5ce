/** Fresh's `HttpError`: thrown by a handler or middleware, answered with its status. */
export class HttpError extends Error {
  /** The HTTP status code of the answer. */
  status: number;

  constructor(status: number, message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = this.constructor.name;
    this.status = status;
  }
}
