// negotiator ships no types, and @types/negotiator is not installed: the one method the hub calls, as the library
// documents it (https://github.com/jshttp/negotiator#readme). Apollo Server negotiates with the same package.
declare module 'negotiator' {
  export default class Negotiator {
    constructor(request: { headers: Readonly<Record<string, string | string[] | undefined>> });
    /** The most preferred of `available` (q, then specificity, then order in the header, then order here); undefined when none is acceptable. */
    mediaType(available: readonly string[]): string | undefined;
  }
}
