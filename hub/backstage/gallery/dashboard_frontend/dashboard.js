// Gallery dashboards' front end. Two kinds of page (see the gallery's rendered.py and proxy.py):
// - rendered (kernelId null): outputs and the widgets' saved state are in the page; the widgets are
//   drawn from that state with no kernel (./static), and the first change a viewer makes takes the
//   page live (./golive);
// - kernel per view (kernelId set): the page's kernel ran the notebook; this script connects to it and
//   brings the widgets to life.
//
// It replaces Voilà's JupyterLab-based front end for published dashboards: ~0.8 MB of script in two
// files (plus ~0.3 MB loaded only by dashboards with an Output widget) instead of ~90 files and ~4 MB,
// which matters because a dashboard runs in a CSP sandbox (an opaque origin), where the browser cannot
// cache anything from one view to the next. Built by `make` with esbuild (ES modules, code splitting).
import '@jupyter-widgets/controls/css/widgets-base.css';
import '@jupyter-widgets/html-manager/css/output.css';
import '@jupyter-widgets/controls/css/labvariables.css';
import '@lumino/widgets/style/index.css';

import { kernelUrl, LiveSwitch } from './golive';
import { KernelClient } from './kernel';
import { DashboardManager } from './manager';
import { ChangeLog, StaticManager } from './static';

const VIEW_MIMETYPE = 'application/vnd.jupyter.widget-view+json';

function pageConfig() {
  const el = document.getElementById('jupyter-config-data');
  return JSON.parse(el ? el.textContent : '{}');
}

/** Writes the page's status line (empty hides it); *link* makes its first part a link. */
function status(text, link = null) {
  const el = document.getElementById('backstage-dashboard-status');
  if (!el) {
    return;
  }
  const [first, ...rest] = Array.isArray(text) ? text : [text];
  el.textContent = '';
  if (link) {
    const a = document.createElement('a');
    a.href = link;
    a.textContent = first;
    el.append(a, ...rest);
  } else {
    el.append([first, ...rest].join(''));
  }
  el.hidden = !el.textContent;
}

function slots() {
  return Array.from(document.querySelectorAll('.backstage-widget-slot'), (el) => {
    const source = el.querySelector(`script[type="${VIEW_MIMETYPE}"]`);
    return { el, modelId: source ? JSON.parse(source.textContent).model_id : null };
  });
}

// Marks for the benchmark and for anyone asking "why is this dashboard slow": see the browser's
// performance timeline (backstage:script, :connected, :states, :rendered, :live).
const mark = (name) => performance.mark(`backstage:${name}`);

/** A rendered page: the widgets drawn from the state saved with it; live on the viewer's first change. */
async function drawSaved(config) {
  const stateEl = document.getElementById('backstage-widget-state');
  const log = new ChangeLog();
  const manager = new StaticManager(log);
  if (stateEl) {
    await manager.set_state(JSON.parse(stateEl.textContent));
  }
  const drawn = await Promise.all(slots().map(async ({ el, modelId }) => {
    if (!modelId || !manager.has_model(modelId)) {
      el.textContent = 'This widget was not saved with the page.';
      return { el, model: null, view: null };
    }
    const model = await manager.get_model(modelId);
    const view = manager.attach_view(await manager.make_view(model), el);
    return { el, model, view };
  }));
  mark('rendered');
  document.body.dataset.dashboardReady = 'true';
  if (config.live) {
    const live = new LiveSwitch({ config, page: { manager, slots: drawn }, log, status, mark });
    log.onChange = () => live.changed();
  }
}

async function renderSlot(manager, el, modelId) {
  if (!manager.has_model(modelId)) {
    el.textContent = 'This widget is no longer in the kernel.';
    return;
  }
  const model = await manager.get_model(modelId);
  await manager.display_view(manager.create_view(model), el);
}

/** A kernel-per-view page: connect to the page's kernel (taking over the page's early socket). */
async function connectKernel(config) {
  const url = kernelUrl(config.baseUrl, config.kernelId);
  let kernel = new KernelClient(url);
  const early = window.backstageEarlyKernel;
  let connection = early ? 'early' : 'late';
  try {
    await (early ? kernel.adopt(early) : kernel.connect());
  } catch (error) {
    if (!early) {
      throw error;
    }
    kernel = new KernelClient(url); // the early connection failed: try once more, afresh
    await kernel.connect();
    connection = 'late';
  }
  document.body.dataset.kernelConnection = connection; // tests check the early path is the one taken
  kernel.onClose = () => status('This dashboard lost its connection: reload the page to use the controls again.');
  mark('connected');
  const manager = new DashboardManager(kernel);
  await manager.loadFromKernel();
  mark('states');
  await Promise.all(slots().map(({ el, modelId }) => renderSlot(manager, el, modelId).catch((error) => {
    el.textContent = `This widget could not be shown: ${error.message || error}`;
  })));
  window.addEventListener('beforeunload', () => {
    // As Voilà's own front end does: the kernel is shut down when the page goes away.
    navigator.sendBeacon(`${config.baseUrl}voila/api/shutdown/${encodeURIComponent(config.kernelId)}`);
  });
  mark('rendered');
  document.body.dataset.dashboardReady = 'true';
}

/**
 * Jupyter widgets' sliders give their handle (role "slider") no accessible name (axe-core: aria-input-field-name,
 * serious): name it after the widget's description, however the widget was drawn (saved, live, swapped at go-live).
 */
function nameSliderHandles() {
  for (const handle of document.querySelectorAll('.noUi-handle[role="slider"]:not([aria-label])')) {
    const label = handle.closest('.widget-slider, .jupyter-widgets')?.querySelector('.widget-label');
    handle.setAttribute('aria-label', label?.textContent.trim() || 'Slider');
  }
}

async function main() {
  mark('script');
  new MutationObserver(nameSliderHandles).observe(document.body, { childList: true, subtree: true });
  const config = pageConfig();
  if (config.kernelId) {
    await connectKernel(config);
  } else if (config.slug || document.getElementById('backstage-widget-state')) {
    await drawSaved(config);
  }
}

main().catch((error) => status(`This dashboard could not start: ${error.message || error}`));
