// The few host functions the SDK uses, present in browsers, Node and React Native alike (the
// SDK compiles without the DOM or Node type libraries, so it assumes nothing else).
declare function setTimeout(callback: () => void, ms: number): unknown;
declare function clearTimeout(handle: unknown): void;
declare function queueMicrotask(callback: () => void): void;
