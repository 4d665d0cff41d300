// localStorage that never throws: private browsing and locked-down browsers
// refuse it, and the widget must still work there (only without memory).

const PREFIX = "helpline-widget:";

export function load(key: string): string | null {
  try {
    return window.localStorage.getItem(PREFIX + key);
  } catch {
    return null;
  }
}

export function save(key: string, value: string): void {
  try {
    window.localStorage.setItem(PREFIX + key, value);
  } catch {
    /* not remembered; nothing else to do */
  }
}
