// The public API of @keel/sdk.
export {};
