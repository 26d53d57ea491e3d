// GOV.UK Frontend's components (the service navigation's menu button on small screens, the skip link).
import { initAll } from "../govuk/govuk-frontend.min.js";

initAll();
