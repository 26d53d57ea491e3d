// The Output widget, live: it shows what the kernel prints or displays while the widget's msg_id is
// set (`with out:` in a callback), as @jupyter-widgets/jupyterlab-manager's does, and tells the kernel.
import { OutputModel as StaticOutputModel, OutputView } from '@jupyter-widgets/html-manager/lib/output';
import { WidgetRenderer, WIDGET_MIMETYPE } from '@jupyter-widgets/html-manager/lib/output_renderers';
import { RenderMimeRegistry, standardRendererFactories } from '@jupyterlab/rendermime';

/** Give the manager the renderers Output widgets draw with (once). */
export function install(manager) {
  if (manager.renderMime) {
    return;
  }
  manager.renderMime = new RenderMimeRegistry({ initialFactories: standardRendererFactories });
  manager.renderMime.addFactory({
    safe: false, mimeTypes: [WIDGET_MIMETYPE], createRenderer: (options) => new WidgetRenderer(options, manager),
  }, 0);
}

const CAPTURED = new Set(['execute_result', 'display_data', 'stream', 'error']);

export class OutputModel extends StaticOutputModel {
  initialize(attributes, options) {
    super.initialize(attributes, options);
    this._hooked = '';
    this._hook = (msg) => this._capture(msg);
    this.listenTo(this, 'change:msg_id', this._follow);
    this._follow();
  }

  _follow() {
    const kernel = this.widget_manager.kernel;
    if (!kernel) {
      return; // drawn from the page's saved state: nothing to capture until the page goes live
    }
    if (this._hooked) {
      kernel.removeIopubHook(this._hooked, this._hook);
    }
    this._hooked = this.get('msg_id') || '';
    if (this._hooked) {
      kernel.addIopubHook(this._hooked, this._hook);
    }
  }

  _capture(msg) {
    const type = msg.header.msg_type;
    if (CAPTURED.has(type)) {
      this.outputs.add({ ...msg.content, output_type: type });
    } else if (type === 'clear_output') {
      this.clear_output(msg.content.wait);
    } else {
      return;
    }
    this.set('outputs', this.outputs.toJSON(), { newMessage: true });
    this.save_changes();
  }
}

export { OutputView };
