import type { AppSyncResolverEvent } from 'aws-lambda';
import { AppSyncResolverError } from './appsync-error.js';
import { toAppSyncError } from './error-mapper.js';

/** A resolver event as AppSync's direct Lambda integration sends it. */
export type DirectLambdaEvent = AppSyncResolverEvent<Record<string, unknown>, Record<string, unknown> | null>;

/** One field resolver: typed arguments in, the field's value out. */
export type FieldHandler<Args, Result> = (args: Args, event: DirectLambdaEvent) => Promise<Result>;

/** Options for {@link AppSyncRouter}. */
export interface AppSyncRouterOptions {
  /** Told about every error that is not a domain error (it becomes InternalFailure). */
  readonly onUnexpectedError?: (error: unknown, event: DirectLambdaEvent) => void;
}

/**
 * A small router for direct Lambda resolvers: fields are registered by type and name, and a
 * resolve call dispatches on `info.parentTypeName`/`info.fieldName`. Every error leaves
 * through the one error mapper.
 */
export class AppSyncRouter<QArgs, QResults, MArgs, MResults> {
  private readonly routes = new Map<string, FieldHandler<never, unknown>>();

  constructor(private readonly options: AppSyncRouterOptions = {}) {}

  /** Registers a Query field. */
  onQuery<K extends keyof QArgs & keyof QResults & string>(field: K, handler: FieldHandler<QArgs[K], QResults[K]>): this {
    return this.add('Query', field, handler);
  }

  /** Registers a Mutation field. */
  onMutation<K extends keyof MArgs & keyof MResults & string>(field: K, handler: FieldHandler<MArgs[K], MResults[K]>): this {
    return this.add('Mutation', field, handler);
  }

  /** Every registered field as `Type.field`, for the schema contract test. */
  registeredFields(): string[] {
    return [...this.routes.keys()];
  }

  /** Resolves one field; throws an AppSyncResolverError on any failure. */
  async resolve(event: DirectLambdaEvent): Promise<unknown> {
    const key = `${event.info?.parentTypeName}.${event.info?.fieldName}`;
    const handler = this.routes.get(key);
    try {
      if (!handler) throw new AppSyncResolverError('InternalFailure', `No resolver for ${key}`);
      return await (handler as FieldHandler<unknown, unknown>)(event.arguments ?? {}, event);
    } catch (error) {
      throw toAppSyncError(error, (e) => this.options.onUnexpectedError?.(e, event));
    }
  }

  private add(type: string, field: string, handler: FieldHandler<never, unknown>): this {
    const key = `${type}.${field}`;
    if (this.routes.has(key)) throw new Error(`Resolver for ${key} registered twice`);
    this.routes.set(key, handler);
    return this;
  }
}
