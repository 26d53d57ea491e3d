// Going live: a rendered page's first change asks the gallery for a kernel (POST the page's ticket to
// the live endpoint: a kernel, or a place in line), connects to it, pairs each drawn widget with its
// live counterpart, swaps the views in place and replays what the viewer changed meanwhile. A kernel
// returned for idleness leaves the page as it is; the next change goes live again.
import { WidgetModel } from '@jupyter-widgets/base';

import { KernelClient } from './kernel';
import { DashboardManager } from './manager';
import { recordInto } from './static';

export const TEXT = {
  connecting: 'Connecting the controls…',
  queued: (n) => `You are number ${n} in line: the page stays as it is; the controls will follow when a place `
    + 'frees up',
  signIn: ['Sign in', ' to use the controls'],
  idle: 'The controls went quiet to free their place: move one to continue',
  lost: 'The controls lost their connection: move one to reconnect',
  expired: 'This page has expired: reload it to use the controls',
  gone: 'This dashboard is no longer published: reload the page to see where it went',
  starting: 'The controls are starting: they will follow in a few seconds…',
  failed: (why) => `The controls could not go live (${why}): move one to try again`,
};
const IDLE_CODE = 4000;
// From the gallery's grant to live controls: a kernel that does not answer within this time is given back, and
// the viewer is told to move a control to try again (the page never stays "Connecting" for ever).
export const CONNECT_LIMIT_MS = 60000;
const REF = 'IPY_MODEL_';
const FOCUSABLE = 'input, select, textarea, button, a[href], [contenteditable="true"], [tabindex]:not([tabindex="-1"])';
const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });
const isPlain = (value) => value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype;

/** Why a page does not go live now: what to tell the viewer, and the state the page stays in. */
class Refusal extends Error {
  constructor(text, state, link = null) {
    super(Array.isArray(text) ? text.join('') : text);
    this.text = text;
    this.state = state;
    this.link = link;
  }
}

export function kernelUrl(baseUrl, kernelId) {
  const url = new URL(`${baseUrl}api/kernels/${encodeURIComponent(kernelId)}/channels`, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/**
 * Pairs widget models of two managers: each given pair, then recursively the models their attributes
 * refer to, at the same place (a box's children, a widget's layout and style, a link's source).
 * Returns a Map from the first model's id to the second model.
 */
export function pairModels(pairs) {
  const paired = new Map();
  const visit = (a, b) => {
    if (!a || !b || paired.has(a.model_id) || a.get('_model_name') !== b.get('_model_name')
      || a.get('_model_module') !== b.get('_model_module')) {
      return;
    }
    paired.set(a.model_id, b);
    Object.keys(a.attributes).forEach((key) => walk(a.get(key), b.get(key)));
  };
  const walk = (x, y) => {
    if (x instanceof WidgetModel) {
      if (y instanceof WidgetModel) {
        visit(x, y);
      }
    } else if (Array.isArray(x) && Array.isArray(y)) {
      x.forEach((item, i) => i < y.length && walk(item, y[i]));
    } else if (isPlain(x) && isPlain(y)) {
      Object.keys(x).forEach((key) => key in y && walk(x[key], y[key]));
    }
  };
  pairs.forEach(([a, b]) => visit(a, b));
  return paired;
}

class Unpaired extends Error {}

/** A serialized value with every widget reference (`IPY_MODEL_<id>`) turned to its pair's. */
function translate(value, paired) {
  if (typeof value === 'string' && value.startsWith(REF)) {
    const model = paired.get(value.slice(REF.length));
    if (!model) {
      throw new Unpaired(value);
    }
    return REF + model.model_id;
  }
  if (Array.isArray(value)) {
    return value.map((item) => translate(item, paired));
  }
  if (isPlain(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, translate(item, paired)]));
  }
  return value;
}

/** Per-model attribute changes carried over to the paired models (those without a pair are left out). */
function carryOver(updates, paired) {
  const out = new Map();
  for (const [modelId, state] of updates) {
    const model = paired.get(modelId);
    if (!model) {
      continue;
    }
    const carried = { ...out.get(model.model_id) };
    for (const [key, value] of Object.entries(state)) {
      try {
        carried[key] = translate(value, paired);
      } catch (error) {
        if (!(error instanceof Unpaired)) {
          throw error;
        }
      }
    }
    out.set(model.model_id, carried);
  }
  return out;
}

/**
 * Waits until every model's pending work is done, the views of a box's children included (they are drawn
 * after the box's own view). Only then may the kernel answer: a model still busy would take the kernel's
 * update of an Output widget's msg_id too late, after the output it was to capture.
 */
async function settled(models) {
  for (let round = 0; round < 20; round++) {
    const chains = models.map((model) => model.state_change);
    await Promise.allSettled(chains);
    if (models.every((model, i) => model.state_change === chains[i])) {
      return;
    }
  }
}

function focusedIn(slots) {
  const active = document.activeElement;
  const at = slots.findIndex((slot) => slot.el.contains(active));
  return at < 0 ? null : { at, index: Array.from(slots[at].el.querySelectorAll(FOCUSABLE)).indexOf(active) };
}

/** Puts each live view where its drawn counterpart was, at once: no scroll, no jump, focus kept. */
function swapViews(slots, liveSlots, manager) {
  const { scrollX, scrollY } = window;
  const focus = focusedIn(slots);
  const heights = slots.map((slot) => slot.el.getBoundingClientRect().height); // read all before any change
  const swapped = slots.map((slot, i) => {
    const live = liveSlots[i];
    if (!live) {
      return slot;
    }
    slot.el.style.minHeight = `${heights[i]}px`;
    if (!slot.view) {
      slot.el.textContent = '';
    }
    manager.attach_view(live.view, slot.el);
    if (slot.view) {
      slot.view.remove();
    }
    return { el: slot.el, model: live.model, view: live.view };
  });
  if (focus && focus.index >= 0) {
    const target = swapped[focus.at].el.querySelectorAll(FOCUSABLE)[focus.index];
    if (target) {
      target.focus({ preventScroll: true });
    }
  }
  if (window.scrollX !== scrollX || window.scrollY !== scrollY) {
    window.scrollTo(scrollX, scrollY);
  }
  requestAnimationFrame(() => requestAnimationFrame(() => swapped.forEach((slot) => {
    slot.el.style.minHeight = '';
  })));
  return swapped;
}

/**
 * The page's way from drawn widgets to live ones. States: static (drawn; the next change goes live),
 * connecting, queued, live, and the dead ends refused (sign in first), expired, gone.
 */
export class LiveSwitch {
  constructor({ config, page, log, status, mark }) {
    this.config = config;
    this.page = page; // {manager, slots: [{el, model, view}]}: what is on the page now
    this.log = log;
    this.status = status;
    this.mark = mark;
    this.state = 'static';
    this.applied = new Map(); // the viewer's changes carried so far (model id -> serialized attributes)
    this.kernel = null;
    this.kernelId = null;
    this.liveModels = [];
    this._lost = null; // rejects the connection in progress when its socket closes
    window.addEventListener('pagehide', () => this.release());
  }

  /** Called after each change the viewer makes to a widget. */
  changed() {
    if (this.state !== 'static') {
      return;
    }
    this.state = 'connecting';
    this.goLive().catch((error) => {
      if (error instanceof Refusal) {
        this.state = error.state;
        this.status(error.text, error.link);
      } else {
        console.error(error);
        this.state = 'static';
        this.status(TEXT.failed(error.message || String(error)));
      }
      if (this.kernel) {
        this.kernel.onClose = null;
        if (this.kernel.ws) {
          this.kernel.ws.close();
        }
        this.release();
      }
    });
  }

  /** Gives the kernel back (the page is going away). */
  release() {
    if (this.kernelId) {
      navigator.sendBeacon(`${this.config.baseUrl}voila/api/shutdown/${encodeURIComponent(this.kernelId)}`);
      this.kernelId = null;
    }
  }

  async ask() {
    const { url, ticket } = this.config.live;
    let queueId = null;
    let starting = 0;
    for (;;) {
      let response;
      let body;
      try {
        response = await fetch(new URL(url, window.location.href), {
          method: 'POST', mode: 'cors', credentials: 'omit', cache: 'no-store',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(queueId ? { ticket, queue_id: queueId } : { ticket }),
        });
        body = await response.json().catch(() => ({}));
      } catch (error) {
        throw new Refusal(TEXT.failed('the gallery did not answer'), 'static');
      }
      if (response.status === 200) {
        return body;
      }
      if (response.status === 202) {
        this.state = 'queued';
        queueId = body.queue_id;
        this.status(TEXT.queued(body.position));
        await sleep(Math.min(Math.max(Number(body.retry_after) || 2, 1), 30) * 1000);
      } else if (response.status === 503 && starting++ < 20) {
        this.status(TEXT.starting);
        await sleep(3000);
      } else if (response.status === 401) {
        let link = null;
        try {
          link = new URL(body.login_url, window.location.href);
          link = ['http:', 'https:'].includes(link.protocol) ? link.href : null;
        } catch (error) {
          link = null;
        }
        throw new Refusal(TEXT.signIn, 'refused', link);
      } else if (response.status === 403) {
        throw new Refusal(TEXT.expired, 'expired');
      } else if (response.status === 404) {
        throw new Refusal(TEXT.gone, 'gone');
      } else {
        throw new Refusal(TEXT.failed(body.message || `the gallery answered ${response.status}`), 'static');
      }
    }
  }

  async goLive() {
    this.status(TEXT.connecting);
    const grant = await this.ask();
    this.state = 'connecting';
    this.status(TEXT.connecting);
    this.kernelId = grant.kernelId;
    const kernel = new KernelClient(kernelUrl(this.config.baseUrl, grant.kernelId));
    this.kernel = kernel;
    const lost = new Promise((resolve, reject) => { this._lost = reject; });
    lost.catch(() => {});
    const limit = setTimeout(() => {
      if (this._lost && this.kernel === kernel) {
        this._lost(new Error(`the dashboard's kernel did not answer within ${CONNECT_LIMIT_MS / 1000} s`));
        this._lost = null;
      }
    }, CONNECT_LIMIT_MS);
    lost.catch(() => clearTimeout(limit));
    kernel.onClose = (event) => this.closed(kernel, event);
    await Promise.race([kernel.connect(), lost]);
    const manager = new DashboardManager(kernel);
    await Promise.race([manager.loadFromKernel(), lost]);
    const views = grant.views || [];
    const liveSlots = await Promise.race([Promise.all(this.page.slots.map(async (slot, i) => {
      if (!views[i] || !manager.has_model(views[i])) {
        return null;
      }
      const model = await manager.get_model(views[i]);
      return { model, view: await manager.make_view(model) };
    })), lost]);
    const paired = pairModels(this.page.slots.map((slot, i) => [slot.model, liveSlots[i] && liveSlots[i].model]));
    this.liveModels = await manager.all_models();
    await Promise.race([settled(this.liveModels), lost]);

    // From here on, synchronously: the drawn views leave, the live ones take their places.
    const before = this.page;
    const changes = this.log.take();
    this.page = { manager, slots: swapViews(before.slots, liveSlots, manager) };
    this._lost = null;
    clearTimeout(limit);
    this.state = 'live';
    before.manager.forget_views();
    before.manager.clear_state();

    const carried = carryOver(this.applied, paired);
    for (const [modelId, state] of carryOver(changes.updates, paired)) {
      carried.set(modelId, { ...carried.get(modelId), ...state });
    }
    this.applied = carried;
    for (const [modelId, state] of carried) {
      const model = await manager.get_model(modelId);
      model.set(await model.constructor._deserialize_state(state, manager));
      model.save_changes();
    }
    for (const { modelId, content, buffers } of changes.customs) {
      const model = paired.get(modelId);
      if (model) {
        model.send(content, {}, buffers);
      }
    }
    this.status('');
    this.mark('live');
    document.body.dataset.dashboardLive = 'true';
  }

  closed(kernel, event) {
    if (kernel !== this.kernel) {
      return;
    }
    this.kernel = null;
    this.kernelId = null;
    if (this._lost) {
      this._lost(new Error(`the connection closed (${event.reason || event.code})`));
      this._lost = null;
      return;
    }
    if (this.state !== 'live') {
      return;
    }
    // The widgets stay drawn as they are; their changes are written down again until the next kernel.
    this.liveModels.forEach((model) => recordInto(model, this.log));
    kernel.comms.clear();
    this.state = 'static';
    delete document.body.dataset.dashboardLive;
    this.status(event.code === IDLE_CODE ? TEXT.idle : TEXT.lost);
  }
}
