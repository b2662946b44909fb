import { useCallback, useEffect, useState } from 'react';
import { ApiError } from './api';

/** Loads data once per key; `notFound` is set for a 404 so pages can show the not-found view. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: unknown; notFound: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown }>({});
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    load().then(
      (data) => live && setState({ data }),
      (error) => live && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]); // the caller names what the load depends on
  return { ...state, notFound: state.error instanceof ApiError && state.error.status === 404, reload };
}
