import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { App } from './app.js';
import { InspectorClient } from './inspector-client.js';
import './styles.css';

const client = new InspectorClient();
// Errors a view's boundary caught are shown in that view; the console gets a warning, not an error.
const onCaughtError = (error: unknown): void => console.warn('A view failed and shows its error:', error instanceof Error ? error.message : String(error));
createRoot(document.getElementById('root')!, { onCaughtError }).render(
  <StrictMode>
    <App client={client} />
  </StrictMode>,
);
