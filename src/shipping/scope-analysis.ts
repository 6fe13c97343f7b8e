import type {
  AnonymousClassDeclaration,
  AnonymousFunctionDeclaration,
  AnyNode,
  ArrowFunctionExpression,
  CallExpression,
  ClassDeclaration,
  ClassExpression,
  FunctionDeclaration,
  FunctionExpression,
  Pattern,
  VariableDeclaration,
} from 'acorn';

/** What a function's source says about the names it relies on, before any notion of globals. */
export interface ScopeFacts {
  /** Names read or written that no enclosing declaration in the source binds, in order of first use. */
  readonly unresolved: readonly string[];
  /** `this` in the root function's own body (an arrow root: any `this` not inside a function or class). */
  readonly usesThis: boolean;
  /** `super` in the root function's own body: a method shorthand that was cut from its object. */
  readonly usesSuper: boolean;
  /** An arrow root reads `arguments`, which belonged to the function around it. */
  readonly usesArguments: boolean;
  /** `import.meta`, which only exists in modules. */
  readonly usesImportMeta: boolean;
  /** Private names (`this.#x`) used outside any class of the source: a method cut from its class. */
  readonly privateNames: readonly string[];
  /** An `import` or `export` declaration, which only a module's top level may hold. */
  readonly moduleSyntax: boolean;
  /** Where each dynamic `import(...)` starts (the offset of its `import` keyword), in source order. */
  readonly dynamicImports: readonly number[];
}

type FunctionNode = FunctionExpression | FunctionDeclaration | AnonymousFunctionDeclaration | ArrowFunctionExpression;
type ClassNode = ClassExpression | ClassDeclaration | AnonymousClassDeclaration;

/**
 * Calls that TypeScript and esbuild emit when they down-level async functions and generators:
 * `__awaiter(this, arguments, P, function* () {...})` runs the callback with the outer `this`. Their
 * `this` argument is no use of `this`, and `this` inside the callback is the outer function's.
 */
const THIS_FORWARDING_HELPERS = new Set(['__awaiter', '__generator', '__asyncGenerator', '__async']);

class Scope {
  readonly names = new Set<string>();
  /** The nearest function-level scope, where `var` and sloppy block functions land. */
  readonly vars: Scope;

  constructor(
    readonly parent: Scope | undefined,
    functionLevel: boolean,
  ) {
    this.vars = functionLevel || !parent ? this : parent.vars;
  }

  resolves(name: string): boolean {
    for (let scope: Scope | undefined = this; scope; scope = scope.parent) {
      if (scope.names.has(name)) return true;
    }
    return false;
  }
}

interface Reference {
  readonly name: string;
  readonly scope: Scope;
  /** `typeof name`, where an undeclared name does not throw, or a name inside a `with` body. */
  readonly guard: 'typeof' | 'with' | undefined;
}

/**
 * Resolves every identifier of a parsed function against the scopes the source itself declares.
 * Declarations are collected while walking and references are resolved at the end, so hoisting
 * (`var`, function declarations, uses before `let`) needs no second pass.
 */
export function analyzeScopes(root: AnyNode): ScopeFacts {
  const walker = new ScopeWalker(root);
  walker.visit(root);
  return walker.facts();
}

class ScopeWalker {
  readonly #root: AnyNode;
  readonly #references: Reference[] = [];
  readonly #privateNames = new Set<string>();
  #scope = new Scope(undefined, true);
  /** Whether `this` here is the root's own `this` (false inside nested functions, methods, fields). */
  #ownThis = true;
  /** Whether `super` here is the root's own (false inside object methods and class members). */
  #ownSuper = true;
  #classDepth = 0;
  #withDepth = 0;
  #usesThis = false;
  #usesSuper = false;
  #usesImportMeta = false;
  #moduleSyntax = false;
  readonly #dynamicImports: number[] = [];

  constructor(root: AnyNode) {
    this.#root = root;
  }

  facts(): ScopeFacts {
    // A name tested with `typeof` anywhere is feature detection (`typeof window !== 'undefined' &&
    // window.x`): the author expects it may be missing, so none of its uses is reported.
    const detected = new Set<string>();
    const unresolved = new Set<string>();
    for (const { name, scope, guard } of this.#references) {
      if (guard === 'with' || scope.resolves(name)) continue;
      if (guard === 'typeof') detected.add(name);
      else unresolved.add(name);
    }
    for (const name of detected) unresolved.delete(name);
    const usesArguments = unresolved.delete('arguments');
    return {
      unresolved: [...unresolved],
      usesThis: this.#usesThis,
      usesSuper: this.#usesSuper,
      usesArguments,
      usesImportMeta: this.#usesImportMeta,
      privateNames: [...this.#privateNames],
      moduleSyntax: this.#moduleSyntax,
      dynamicImports: this.#dynamicImports.sort((a, b) => a - b),
    };
  }

  visit(node: AnyNode | null | undefined): void {
    if (!node) return;
    switch (node.type) {
      case 'Identifier':
        this.#reference(node.name);
        return;
      case 'ThisExpression':
        if (this.#ownThis) this.#usesThis = true;
        return;
      case 'Super':
        if (this.#ownSuper) this.#usesSuper = true;
        return;
      case 'MetaProperty':
        if (node.meta.name === 'import') this.#usesImportMeta = true;
        return;
      case 'ImportExpression':
        this.#dynamicImports.push(node.start);
        break;
      case 'PrivateIdentifier':
        if (this.#classDepth === 0) this.#privateNames.add(node.name);
        return;
      case 'MemberExpression':
        this.visit(node.object);
        if (node.computed || node.property.type === 'PrivateIdentifier') this.visit(node.property);
        return;
      case 'Property':
        // Only object literals get here: patterns go through #declare and #assign.
        if (node.computed) this.visit(node.key);
        if (node.method || node.kind !== 'init') this.#function(node.value as FunctionExpression, { method: true });
        else this.visit(node.value);
        return;
      case 'UnaryExpression':
        if (node.operator === 'typeof' && node.argument.type === 'Identifier') {
          this.#reference(node.argument.name, true);
          return;
        }
        break;
      case 'AssignmentExpression':
        this.#assign(node.left);
        this.visit(node.right);
        return;
      case 'CallExpression':
        if (this.#forwardsThis(node)) return;
        break;
      case 'FunctionExpression':
      case 'FunctionDeclaration':
      case 'ArrowFunctionExpression':
        this.#function(node, {});
        return;
      case 'ClassExpression':
      case 'ClassDeclaration':
        this.#class(node);
        return;
      case 'VariableDeclaration':
        this.#variables(node);
        return;
      case 'BlockStatement':
        this.#inScope(new Scope(this.#scope, false), () => this.#visitAll(node.body));
        return;
      case 'ForStatement':
      case 'ForInStatement':
      case 'ForOfStatement':
        this.#inScope(new Scope(this.#scope, false), () => {
          if (node.type === 'ForStatement') {
            this.visit(node.init);
            this.visit(node.test);
            this.visit(node.update);
          } else {
            if (node.left.type === 'VariableDeclaration') this.#variables(node.left);
            else this.#assign(node.left);
            this.visit(node.right);
          }
          this.visit(node.body);
        });
        return;
      case 'CatchClause':
        this.#inScope(new Scope(this.#scope, false), () => {
          if (node.param) this.#declare(node.param, this.#scope);
          this.visit(node.body);
        });
        return;
      case 'SwitchStatement':
        this.visit(node.discriminant);
        this.#inScope(new Scope(this.#scope, false), () => this.#visitAll(node.cases));
        return;
      case 'LabeledStatement':
        this.visit(node.body);
        return;
      case 'BreakStatement':
      case 'ContinueStatement':
        return;
      case 'ImportDeclaration':
      case 'ExportNamedDeclaration':
      case 'ExportDefaultDeclaration':
      case 'ExportAllDeclaration':
        this.#moduleSyntax = true;
        return;
      case 'WithStatement':
        this.visit(node.object);
        this.#withDepth++;
        this.visit(node.body);
        this.#withDepth--;
        return;
    }
    this.#visitChildren(node);
  }

  #visitAll(nodes: readonly (AnyNode | null)[]): void {
    for (const node of nodes) this.visit(node);
  }

  /** Every child node, for the node types whose children are all plain expressions or statements. */
  #visitChildren(node: AnyNode): void {
    const fields = node as unknown as Record<string, unknown>;
    for (const key in fields) {
      const value = fields[key];
      if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) this.visit(item);
      } else if (isNode(value)) {
        this.visit(value);
      }
    }
  }

  #reference(name: string, typeofOnly = false): void {
    const guard = this.#withDepth > 0 ? 'with' : typeofOnly ? 'typeof' : undefined;
    this.#references.push({ name, scope: this.#scope, guard });
  }

  #inScope(scope: Scope, body: () => void): void {
    const outer = this.#scope;
    this.#scope = scope;
    try {
      body();
    } finally {
      this.#scope = outer;
    }
  }

  /** Runs `body` with its own `this` and `super` (a nested function, a method, a class field). */
  #ownContext(ownThis: boolean, ownSuper: boolean, body: () => void): void {
    const [outerThis, outerSuper] = [this.#ownThis, this.#ownSuper];
    this.#ownThis = ownThis;
    this.#ownSuper = ownSuper;
    try {
      body();
    } finally {
      this.#ownThis = outerThis;
      this.#ownSuper = outerSuper;
    }
  }

  #variables(node: VariableDeclaration): void {
    const target = node.kind === 'var' ? this.#scope.vars : this.#scope;
    for (const declarator of node.declarations) {
      this.#declare(declarator.id, target);
      this.visit(declarator.init);
    }
  }

  /** Binds the names of a declaration pattern in `target`; defaults and computed keys are read here. */
  #declare(pattern: Pattern, target: Scope): void {
    switch (pattern.type) {
      case 'Identifier':
        target.names.add(pattern.name);
        return;
      case 'ObjectPattern':
        for (const property of pattern.properties) {
          if (property.type === 'RestElement') {
            this.#declare(property.argument, target);
          } else {
            if (property.computed) this.visit(property.key);
            this.#declare(property.value, target);
          }
        }
        return;
      case 'ArrayPattern':
        for (const element of pattern.elements) if (element) this.#declare(element, target);
        return;
      case 'RestElement':
        this.#declare(pattern.argument, target);
        return;
      case 'AssignmentPattern':
        this.#declare(pattern.left, target);
        this.visit(pattern.right);
        return;
      case 'MemberExpression':
        this.visit(pattern);
        return;
    }
  }

  /** An assignment target: its names are references (writes), not declarations. */
  #assign(pattern: Pattern): void {
    switch (pattern.type) {
      case 'ObjectPattern':
        for (const property of pattern.properties) {
          if (property.type === 'RestElement') {
            this.#assign(property.argument);
          } else {
            if (property.computed) this.visit(property.key);
            this.#assign(property.value);
          }
        }
        return;
      case 'ArrayPattern':
        for (const element of pattern.elements) if (element) this.#assign(element);
        return;
      case 'RestElement':
        this.#assign(pattern.argument);
        return;
      case 'AssignmentPattern':
        this.#assign(pattern.left);
        this.visit(pattern.right);
        return;
      default:
        this.visit(pattern);
    }
  }

  #function(node: FunctionNode, { method = false, forwardedThis = false }): void {
    const arrow = node.type === 'ArrowFunctionExpression';
    if (node.type === 'FunctionDeclaration' && node.id) {
      this.#scope.names.add(node.id.name);
      // Annex B: in sloppy code a function declared in a block is also a variable of its function.
      this.#scope.vars.names.add(node.id.name);
    }
    const params = new Scope(this.#scope, true);
    if (node.type === 'FunctionExpression' && node.id) params.names.add(node.id.name);
    if (!arrow) params.names.add('arguments');
    const keepsThis = arrow || forwardedThis || node === this.#root;
    const ownThis = keepsThis ? this.#ownThis : false;
    const ownSuper = keepsThis && !method ? this.#ownSuper : false;
    this.#ownContext(ownThis, ownSuper, () =>
      this.#inScope(params, () => {
        for (const param of node.params) this.#declare(param, params);
        if (node.body.type === 'BlockStatement') {
          // The body is a scope of its own: defaults cannot see the body's `var`s.
          const { body } = node.body;
          this.#inScope(new Scope(params, true), () => this.#visitAll(body));
        } else {
          this.visit(node.body);
        }
      }),
    );
  }

  #class(node: ClassNode): void {
    if (node.type === 'ClassDeclaration' && node.id) this.#scope.names.add(node.id.name);
    this.visit(node.superClass);
    const scope = new Scope(this.#scope, false);
    if (node.id) scope.names.add(node.id.name);
    this.#classDepth++;
    this.#inScope(scope, () => {
      for (const member of node.body.body) {
        if (member.type === 'StaticBlock') {
          this.#ownContext(false, false, () =>
            this.#inScope(new Scope(scope, true), () => this.#visitAll(member.body)),
          );
          continue;
        }
        // A computed key is evaluated where the class is, with the outer `this`.
        if (member.computed) this.visit(member.key);
        if (member.type === 'MethodDefinition') {
          this.#function(member.value, { method: true });
        } else if (member.value) {
          const { value } = member;
          this.#ownContext(false, false, () => this.#inScope(new Scope(scope, true), () => this.visit(value)));
        }
      }
    });
    this.#classDepth--;
  }

  /** `__awaiter(this, ..., function* () {...})`: see {@link THIS_FORWARDING_HELPERS}. */
  #forwardsThis(node: CallExpression): boolean {
    if (node.callee.type !== 'Identifier' || !THIS_FORWARDING_HELPERS.has(node.callee.name)) return false;
    this.visit(node.callee);
    node.arguments.forEach((argument, index) => {
      if (index === 0 && argument.type === 'ThisExpression') return;
      if (argument.type === 'FunctionExpression') this.#function(argument, { forwardedThis: true });
      else this.visit(argument);
    });
    return true;
  }
}

function isNode(value: unknown): value is AnyNode {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}
