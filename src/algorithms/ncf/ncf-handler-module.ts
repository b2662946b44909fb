/**
 * The URL of the NCF ranking handler's module (`builtin:ncf-ranking`), for the composition root to
 * register into serving's handler registry. A URL, not the module: model worker threads import it,
 * so the gateway need not. Its extension follows this file's, so it names the source under tsx.
 */
export const ncfRankingHandlerModule = new URL(`./ncf-ranking-handler${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href;
