/**
 * The request bounds AppSync enforces (queryDepthLimit, resolverCountLimit), checked by the
 * local server from the same contract values. They run before graphql-js' own validation:
 * its overlapping-fields rule is quadratic in the number of same-named fields, so a request
 * with thousands of aliases must be refused before it ever gets there.
 */
import {
  GraphQLError,
  Kind,
  validate,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { GRAPHQL_LIMITS } from '../../contracts/graphql-api.js';

/** Limits of one request. */
export interface RequestLimits {
  readonly queryDepth: number;
  readonly resolverCount: number;
}

type Fragments = ReadonlyMap<string, FragmentDefinitionNode>;

// __typename is answered by the server itself, never by a resolver, and adds no nesting.
const counted = (name: string): boolean => name !== '__typename';

/**
 * Measures an operation's depth and root-field count with every fragment measured once
 * (memoised), so a document that spreads fragments into fragments costs time linear in its
 * size, not exponential in the nesting of its spreads.
 */
class Measure {
  private readonly depths = new Map<string, number>();
  private readonly counts = new Map<string, number>();
  private readonly inProgress = new Set<string>();

  constructor(private readonly fragments: Fragments) {}

  /** Deepest field nesting under `set`, relative to it (a field with a selection set adds one level). */
  depth(set: SelectionSetNode): number {
    let max = 0;
    for (const selection of set.selections) {
      let depth = 0;
      if (selection.kind === Kind.FIELD) {
        if (!counted(selection.name.value)) continue;
        depth = 1 + (selection.selectionSet ? this.depth(selection.selectionSet) : 0);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        depth = this.depth(selection.selectionSet);
      } else {
        depth = this.fragment(selection.name.value, this.depths, (f) => this.depth(f.selectionSet));
      }
      if (depth > max) max = depth;
    }
    return max;
  }

  /** Number of fields directly under `set` (each a resolver when `set` is the root), fragments expanded. */
  fields(set: SelectionSetNode): number {
    let count = 0;
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) count += counted(selection.name.value) ? 1 : 0;
      else if (selection.kind === Kind.INLINE_FRAGMENT) count += this.fields(selection.selectionSet);
      else count += this.fragment(selection.name.value, this.counts, (f) => this.fields(f.selectionSet));
    }
    return count;
  }

  private fragment(name: string, memo: Map<string, number>, measure: (fragment: FragmentDefinitionNode) => number): number {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const fragment = this.fragments.get(name);
    // A cycle or an unknown fragment is graphql-js' to report; it adds nothing here.
    if (!fragment || this.inProgress.has(name)) return 0;
    this.inProgress.add(name);
    const value = measure(fragment);
    this.inProgress.delete(name);
    memo.set(name, value);
    return value;
  }
}

/** The limit errors of `document`'s operations (empty when within limits); no schema needed. */
export function checkRequestLimits(document: DocumentNode, limits: RequestLimits = GRAPHQL_LIMITS): GraphQLError[] {
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const measure = new Measure(fragments);
  const errors: GraphQLError[] = [];
  for (const operation of document.definitions) {
    if (operation.kind !== Kind.OPERATION_DEFINITION) continue;
    const resolvers = measure.fields(operation.selectionSet);
    if (resolvers > limits.resolverCount) {
      errors.push(new GraphQLError(`Query has ${resolvers} resolvers; the API allows at most ${limits.resolverCount} per request (resolverCountLimit).`, { nodes: operation }));
    }
    if (measure.depth(operation.selectionSet) > limits.queryDepth) {
      errors.push(new GraphQLError(`Query depth exceeds ${limits.queryDepth} levels (queryDepthLimit).`, { nodes: operation }));
    }
  }
  return errors;
}

/**
 * graphql-js validation behind the request limits: the limits first, on the bare AST (no type
 * information, linear in the document), then, only if they pass, the specified rules.
 */
export function validateWithinLimits(schema: GraphQLSchema, document: DocumentNode, limits: RequestLimits = GRAPHQL_LIMITS): readonly GraphQLError[] {
  const refused = checkRequestLimits(document, limits);
  return refused.length > 0 ? refused : validate(schema, document);
}
