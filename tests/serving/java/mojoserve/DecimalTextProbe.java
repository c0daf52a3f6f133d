package mojoserve;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Test probe: reads one double per line (its raw bits in hex) and prints how the JSON writer
 * writes it, so that the Python test can compare with exact decimal arithmetic.
 */
public final class DecimalTextProbe {
  private DecimalTextProbe() {}

  public static void main(String[] args) throws Exception {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.US_ASCII);
    ByteSink sink = new ByteSink(64);
    StringBuilder builder = new StringBuilder();
    String line;
    while ((line = in.readLine()) != null) {
      double p = Double.longBitsToDouble(Long.parseUnsignedLong(line.trim(), 16));
      ByteSink one = new ByteSink(1);
      one.appendProbability(p);
      builder.setLength(0);
      DecimalText.appendProbability(builder, p);
      out.print(new String(one.toByteArray(), StandardCharsets.US_ASCII));
      out.print(' ');
      out.println(builder);
    }
    out.flush();
  }
}
