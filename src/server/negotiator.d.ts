// negotiator ships no types, and @types/negotiator is not installed: the methods the hub (and bench/hand-written.ts) call, as the library
// documents it (https://github.com/jshttp/negotiator#readme). Apollo Server negotiates with the same package.
declare module 'negotiator' {
  export default class Negotiator {
    constructor(request: { headers: Readonly<Record<string, string | string[] | undefined>> });
    /** The most preferred of `available` (q, then specificity, then order in the header, then order here); undefined when none is acceptable. */
    mediaType(available: readonly string[]): string | undefined;
    /** The same for content codings (Accept-Encoding). */
    encoding(available: readonly string[]): string | undefined;
  }
}
