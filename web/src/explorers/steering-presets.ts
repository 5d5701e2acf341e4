// Prompt sets for the steering explorer that work on the shipped model (tiny-lm-f16, trained on the
// King James Bible): each moves the generations visibly at its layer.

export interface SteeringPreset {
  name: string;
  positives: readonly string[];
  negatives: readonly string[];
  prompt: string;
  layer: number;
}

export const STEERING_PRESETS: readonly SteeringPreset[] = [
  {
    name: "Jesus vs Moses",
    positives: [
      "And Jesus answered and said unto them,",
      "Then said Jesus unto his disciples,",
      "Jesus saith unto him,",
    ],
    negatives: [
      "And Moses said unto the people,",
      "And the LORD spake unto Moses, saying,",
      "Moses commanded us a law,",
    ],
    prompt: "And when he had said these things,",
    layer: 2,
  },
  {
    name: "Love vs war",
    positives: ["Thou shalt love thy neighbour as thyself.", "Beloved, let us love one another:", "God is love;"],
    negatives: [
      "And there was war between",
      "and they fought against the city,",
      "and smote them with the edge of the sword,",
    ],
    prompt: "And it came to pass, that",
    layer: 1,
  },
];

/** The select's value for prompt sets of one's own. */
export const CUSTOM = "custom";
