// A small built-in text for character-level language models, so examples and tests need no
// download. Two parts:
//  - NURSERY_RHYMES: traditional English nursery rhymes, all published before 1900 and in the
//    public domain (Jane Taylor's "The Star", 1806; Sarah Josepha Hale's "Mary's Lamb", 1830;
//    the others are anonymous folk rhymes printed since the 18th century). Transcribed here.
//  - generateStoryText(): an endless, seeded supply of simple English sentences from a small
//    grammar (written for this package, no licence constraints), for when more text is needed.
import { Rng } from '../train/rng.js';

export const NURSERY_RHYMES = `Twinkle, twinkle, little star,
How I wonder what you are!
Up above the world so high,
Like a diamond in the sky.
When the blazing sun is gone,
When he nothing shines upon,
Then you show your little light,
Twinkle, twinkle, all the night.

Mary had a little lamb,
Its fleece was white as snow;
And everywhere that Mary went
The lamb was sure to go.
It followed her to school one day,
Which was against the rule;
It made the children laugh and play
To see a lamb at school.

Humpty Dumpty sat on a wall,
Humpty Dumpty had a great fall.
All the king's horses and all the king's men
Couldn't put Humpty together again.

Jack and Jill went up the hill
To fetch a pail of water;
Jack fell down and broke his crown,
And Jill came tumbling after.

Hey diddle diddle,
The cat and the fiddle,
The cow jumped over the moon;
The little dog laughed
To see such sport,
And the dish ran away with the spoon.

Little Miss Muffet
Sat on a tuffet,
Eating her curds and whey;
Along came a spider,
Who sat down beside her
And frightened Miss Muffet away.

Baa, baa, black sheep,
Have you any wool?
Yes sir, yes sir,
Three bags full;
One for the master,
And one for the dame,
And one for the little boy
Who lives down the lane.

Hickory, dickory, dock,
The mouse ran up the clock.
The clock struck one,
The mouse ran down,
Hickory, dickory, dock.

Old Mother Hubbard
Went to the cupboard,
To give the poor dog a bone;
When she came there,
The cupboard was bare,
And so the poor dog had none.

Sing a song of sixpence,
A pocket full of rye;
Four and twenty blackbirds,
Baked in a pie.
When the pie was opened,
The birds began to sing;
Wasn't that a dainty dish,
To set before the king?

Little Bo-Peep has lost her sheep,
And doesn't know where to find them;
Leave them alone, and they'll come home,
Wagging their tails behind them.

Rain, rain, go away,
Come again another day.

Hush-a-bye, baby, on the tree top,
When the wind blows the cradle will rock;
When the bough breaks, the cradle will fall,
And down will come baby, cradle and all.

Pat-a-cake, pat-a-cake, baker's man,
Bake me a cake as fast as you can;
Pat it and prick it, and mark it with B,
And put it in the oven for baby and me.
`;

const SUBJECTS = ['the cat', 'the old dog', 'a little bird', 'the farmer', 'my sister', 'the baker', 'a small mouse', 'the king', 'the children', 'a brown horse'];
const VERBS_SINGULAR = ['sees', 'finds', 'likes', 'chases', 'follows', 'watches', 'carries', 'helps'];
const VERBS_PLURAL = ['see', 'find', 'like', 'chase', 'follow', 'watch', 'carry', 'help'];
const OBJECTS = ['the red ball', 'a green apple', 'the big tree', 'a loaf of bread', 'the silver spoon', 'the cow', 'a yellow kite', 'the little boat'];
const PLACES = ['in the garden', 'by the river', 'on the hill', 'near the house', 'under the moon', 'at the market'];
const TIMES = ['every morning', 'at night', 'on sunday', 'after school', 'in the rain'];

/**
 * `sentences` simple sentences ("The cat sees the red ball by the river.") joined by spaces and
 * newlines, the same for the same seed. Subject-verb agreement ("the children see") and
 * optional clauses give a character model structure to learn.
 */
export function generateStoryText(sentences: number, seed = 0): string {
  if (!Number.isInteger(sentences) || sentences < 0) throw new RangeError(`generateStoryText: sentences must be an integer >= 0, got ${sentences}`);
  const rng = new Rng(seed);
  const pick = <T>(list: T[]) => list[rng.int(list.length)];
  const lines: string[] = [];
  for (let i = 0; i < sentences; i++) {
    const subjectIndex = rng.int(SUBJECTS.length);
    const subject = SUBJECTS[subjectIndex];
    const plural = subject === 'the children';
    const verb = (plural ? VERBS_PLURAL : VERBS_SINGULAR)[rng.int(VERBS_SINGULAR.length)];
    let s = `${subject} ${verb} ${pick(OBJECTS)}`;
    if (rng.bernoulli(0.5)) s += ` ${pick(PLACES)}`;
    if (rng.bernoulli(0.3)) s += ` ${pick(TIMES)}`;
    s = s[0].toUpperCase() + s.slice(1) + (rng.bernoulli(0.15) ? '!' : '.');
    lines.push(s);
  }
  // A few sentences per line, like prose paragraphs.
  let out = '';
  for (let i = 0; i < lines.length; i++) out += lines[i] + (i % 4 === 3 || i === lines.length - 1 ? '\n' : ' ');
  return out;
}

/** The built-in corpus: the rhymes followed by `generatedSentences` generated sentences. */
export function builtinCorpus(generatedSentences = 400, seed = 0): string {
  return `${NURSERY_RHYMES}\n${generateStoryText(generatedSentences, seed)}`;
}
