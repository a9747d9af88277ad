// `using` needs Symbol.dispose; older browsers lack it. Runs before any class is defined.
(Symbol as { dispose?: symbol }).dispose ??= Symbol.for('Symbol.dispose');
export {};
