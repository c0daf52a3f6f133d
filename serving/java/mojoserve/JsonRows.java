package mojoserve;

import java.nio.charset.StandardCharsets;

/**
 * Prediction rows written as the JSON objects of {@code POST /predict}, one object per line.
 *
 * <p>A classifier's row reads {@code {"label":"1","probabilities":{"0":0.25,"1":0.75},
 * "warnings":[]}}, a regression's {@code {"value":3.5,"warnings":[]}}. Every row ends with an
 * empty warnings list and a newline: the Python side joins the lines with commas, and first
 * fills in the warnings of the few rows that have some. Writing the rows here costs a fraction
 * of building one Python dictionary per row and serializing it.
 */
final class JsonRows {
  private static final String WARNINGS_AND_END = "\"warnings\":[]}\n";

  /** {@code "label":"<class>",} per class index, quoted once. */
  private final String[] labelFields;
  /** {@code "<class>":} per class index, the keys of the probabilities object. */
  private final String[] probabilityKeys;

  /** @param labels the class labels in the model's order; null for a regression model */
  JsonRows(String[] labels) {
    if (labels == null) {
      labelFields = null;
      probabilityKeys = null;
      return;
    }
    labelFields = new String[labels.length];
    probabilityKeys = new String[labels.length];
    for (int k = 0; k < labels.length; k++) {
      String quoted = quote(labels[k]);
      labelFields[k] = "{\"label\":" + quoted + ",\"probabilities\":{";
      probabilityKeys[k] = quoted + ":";
    }
  }

  /** Rows {@code from} (inclusive) to {@code to} of {@code results}, {@code width} per row. */
  byte[] write(double[] results, int width, int from, int to) {
    StringBuilder out = new StringBuilder((to - from) * (24 + 24 * width));
    for (int row = from; row < to; row++) {
      int base = row * width;
      if (labelFields == null) {
        out.append("{\"value\":");
        appendNumber(out, results[base]);
        out.append(',');
      } else {
        out.append(labelFields[(int) results[base]]);
        for (int k = 1; k < width; k++) {
          if (k > 1) {
            out.append(',');
          }
          out.append(probabilityKeys[k - 1]);
          DecimalText.appendProbability(out, results[base + k]);
        }
        out.append("},");
      }
      out.append(WARNINGS_AND_END);
    }
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** A finite number as JSON; NaN and infinities, which JSON cannot hold, as null. */
  private static void appendNumber(StringBuilder out, double value) {
    if (Double.isFinite(value)) {
      out.append(value);
    } else {
      out.append("null");
    }
  }

  /** A JSON string literal: quotes, backslashes and control characters escaped. */
  static String quote(String text) {
    StringBuilder out = new StringBuilder(text.length() + 2).append('"');
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }
}
