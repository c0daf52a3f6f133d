package mojoserve;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Test probe for the Python tests, one value per line on stdin, one answer per line on stdout.
 *
 * <p>Without arguments: a double (its raw bits in hex) in, the text the JSON and CSV writers make
 * of it out. With {@code parse}: a text in, the raw bits in hex of what {@link
 * DecimalText#parsePlainDecimal} reads, or {@code -} when it leaves the text to genmodel.
 */
public final class DecimalTextProbe {
  private DecimalTextProbe() {}

  public static void main(String[] args) throws Exception {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.US_ASCII);
    ByteSink sink = new ByteSink(64);
    String line;
    if (args.length > 0 && args[0].equals("parse")) {
      while ((line = in.readLine()) != null) {
        char[] text = line.toCharArray();
        double value = DecimalText.parsePlainDecimal(text, 0, text.length);
        out.println(
            Double.isNaN(value) ? "-" : Long.toHexString(Double.doubleToRawLongBits(value)));
      }
      out.flush();
      return;
    }
    while ((line = in.readLine()) != null) {
      double p = Double.longBitsToDouble(Long.parseUnsignedLong(line.trim(), 16));
      ByteSink one = new ByteSink(1);
      one.appendProbability(p);
      out.println(new String(one.toByteArray(), StandardCharsets.US_ASCII));
    }
    out.flush();
  }
}
