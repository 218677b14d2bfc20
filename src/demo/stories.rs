//! The demo articles: enough for a frontend to build every page on a fresh
//! `cargo run` (home, tag and author pages, a featured box, related
//! articles, an article with a pull quote and a captioned image). Image
//! URLs are placeholders on the reserved `.test` domain.

use crate::domain::article::ArticleStatus;

pub struct DemoImage {
    pub file: &'static str,
    pub alt: &'static str,
    pub caption: Option<&'static str>,
    pub credit: &'static str,
}

pub struct DemoArticle {
    pub title: &'static str,
    pub subtitle: &'static str,
    pub body: &'static str,
    pub tags: &'static [&'static str],
    /// Index into the seeded editors (1 and up: 0 is the admin).
    pub author: usize,
    /// Hours before now; negative schedules it in the future.
    pub hours_ago: i64,
    pub status: ArticleStatus,
    pub featured: bool,
    pub image: Option<DemoImage>,
}

/// Where the placeholder images live.
pub const IMAGE_BASE: &str = "https://images.broadsheet.test/";

pub const ARTICLES: &[DemoArticle] = &[
    DemoArticle {
        title: "It's too late now to wait for the perfect tram plan",
        subtitle: "Every year the plan gets better and the trams get further away. The city should build the line it can afford.",
        body: "For eleven years the council has studied a tram line from the station to the hospital. \
Each study was better than the last, and each one ended with a recommendation to study a little more.\n\n\
Meanwhile the buses on that route run full by half past seven, and the hospital's car park turns \
away two hundred cars a day.\n\n\
> [!PULLQUOTE]\n> The best tram is the one that runs, not the one that is perfect on paper.\n\n\
A modest line on the existing road, with signal priority and level boarding, could open within four \
years. It would not be the network the consultants drew. It would carry people.\n\n\
The council meets on Thursday. It should vote for the line it can build, and stop paying for plans \
of the line it cannot.",
        tags: &["Cities", "Transport"],
        author: 1,
        hours_ago: 3,
        status: ArticleStatus::Published,
        featured: true,
        image: Some(DemoImage {
            file: "tram-stop-rain.jpg",
            alt: "A green tram waiting at a covered stop in the rain, passengers boarding at street level",
            caption: Some("Line 4 at Market Square, where the proposed route would begin."),
            credit: "Photo: Ana Ruiz",
        }),
    },
    DemoArticle {
        title: "Libraries are the last free room in town",
        subtitle: "A warm seat, a quiet table and nobody asking you to buy a coffee: why cutting opening hours costs more than it saves.",
        body: "Walk into the central library at ten on a weekday morning and count the people who are not \
there for books. Students with laptops, a man filling in a benefits form, two retirees doing the crossword.\n\n\
> [!PULLQUOTE]\n> A library is the only building left where you are welcome without a reason.\n\n\
The proposal to close branches on Mondays and Tuesdays saves a small sum on paper. It moves the cost \
to the places those visitors go instead, or to nowhere at all.\n\n\
Keep the doors open. Measure what the rooms do, not only what the shelves lend.",
        tags: &["Cities", "Culture"],
        author: 2,
        hours_ago: 27,
        status: ArticleStatus::Published,
        featured: true,
        image: Some(DemoImage {
            file: "library-reading-room.jpg",
            alt: "Long wooden tables in a library reading room, most seats taken",
            caption: Some("The central library's reading room on a Tuesday morning."),
            credit: "Photo: Broadsheet",
        }),
    },
    DemoArticle {
        title: "The four-day week deserves a fair trial, not a slogan",
        subtitle: "Pilots abroad look promising. Our own public services could test it properly, with the results published.",
        body: "Few workplace ideas travel as fast as the four-day week, and few are argued about with so little \
local evidence.\n\n\
> If the idea is good, a fair trial will show it; if it is not, a fair trial will save us from it.\n\n\
A year-long pilot in two council departments, with clear measures set in advance and an independent \
evaluation, would tell us more than another round of opinion columns. Including this one.",
        tags: &["Work", "Economy"],
        author: 1,
        hours_ago: 75,
        status: ArticleStatus::Published,
        featured: false,
        image: None,
    },
    DemoArticle {
        title: "Bus lanes work when they are enforced, not when they are painted",
        subtitle: "Half the city's bus lanes are blocked at rush hour. Cameras cost less than the minutes lost.",
        body: "A bus lane without enforcement is a parking space with a red stripe.\n\n\
On the ring road a bus takes eleven minutes longer at eight in the morning than at noon; most of that \
time is spent behind vans that stopped for five minutes.\n\n\
Cities that put cameras on their lanes saw journey times fall within a month. The fines paid for the \
cameras. The minutes went back to the people on the bus.",
        tags: &["Transport", "Cities"],
        author: 2,
        hours_ago: 6,
        status: ArticleStatus::Published,
        featured: false,
        image: Some(DemoImage {
            file: "bus-lane-blocked.jpg",
            alt: "A double-decker bus stuck behind a delivery van parked in a red bus lane",
            caption: None,
            credit: "Photo: Ana Ruiz",
        }),
    },
    DemoArticle {
        title: "Cycle paths that end in a kerb are not a network",
        subtitle: "The city has built forty kilometres of cycle lanes. Almost none of them connect.",
        body: "Ask anyone who cycles to work where the cycle path ends, and they will name a junction.\n\n\
> [!PULLQUOTE]\n> A path that stops at the hardest crossing protects you everywhere except where you need it.\n\n\
The next budget should buy connections, not kilometres: twelve junctions, redesigned, would do more \
than another forty kilometres of paint.",
        tags: &["Transport", "Climate"],
        author: 1,
        hours_ago: 14,
        status: ArticleStatus::Published,
        featured: false,
        image: None,
    },
    DemoArticle {
        title: "Heat plans belong in the budget, not in the press release",
        subtitle: "Last summer's heatwave filled the hospital. The shade, water and cooling rooms it needed cost less than one more bad week.",
        body: "When the temperature passed 38 degrees for the third day in a row, the emergency department \
opened its overflow ward for the first time since the pandemic.\n\n\
Trees on the southern estates, drinking fountains in the parks and two cooling rooms in each district \
are not expensive. They are simply never urgent until they are too late.\n\n\
Put them in the capital budget this year, with dates.",
        tags: &["Climate", "Health", "Cities"],
        author: 2,
        hours_ago: 30,
        status: ArticleStatus::Published,
        featured: true,
        image: Some(DemoImage {
            file: "park-fountain-heat.jpg",
            alt: "Children cooling off at a drinking fountain in a park, parched grass behind them",
            caption: Some("The only working fountain in Riverside Park, in July."),
            credit: "Photo: Jun Park",
        }),
    },
    DemoArticle {
        title: "The museum should be free on Sundays, for everyone",
        subtitle: "Free days for residents only need a proof of address at the door. That is a queue, not a welcome.",
        body: "The city museum's free resident Sundays were meant to bring in the neighbours. They brought in \
a queue at the ticket desk, where visitors show a utility bill.\n\n\
Make Sunday free for everyone. The tourists it lets in for nothing spend more in the café than the \
ticket desk collects.",
        tags: &["Culture"],
        author: 1,
        hours_ago: 52,
        status: ArticleStatus::Published,
        featured: false,
        image: None,
    },
    DemoArticle {
        title: "Rents rose faster than wages for the ninth year running",
        subtitle: "The numbers are not a surprise. The absence of a plan is.",
        body: "Median rent in the city rose six per cent last year; median pay, three.\n\n\
> [!PULLQUOTE]\n> Nine years is not a spike. It is a trend, and it has a cause.\n\n\
The council owns land on four sites near the ring road. Building on them is slower than a press \
conference and faster than another nine years.",
        tags: &["Economy", "Cities"],
        author: 2,
        hours_ago: 98,
        status: ArticleStatus::Published,
        featured: false,
        image: Some(DemoImage {
            file: "scaffolding-housing.jpg",
            alt: "",
            caption: Some("Decorative: scaffolding on a terrace of houses."),
            credit: "Photo: Broadsheet",
        }),
    },
    DemoArticle {
        title: "Night buses are a safety policy, not a luxury",
        subtitle: "Shift workers, students and nurses get home after midnight. Cutting the night network leaves them walking.",
        body: "The proposal to end night buses on three routes saves a little on paper and costs a great deal \
in the small hours.\n\n\
Hospital cleaners, bar staff and students share those buses. Without them, the alternative is a long \
walk or a taxi most of them cannot afford.",
        tags: &["Transport", "Work"],
        author: 1,
        hours_ago: 120,
        status: ArticleStatus::Published,
        featured: false,
        image: None,
    },
    DemoArticle {
        title: "School meals: the cheapest health policy we have",
        subtitle: "Universal free lunches cost less per child than a single visit to the GP.",
        body: "Every study of universal school meals finds the same things: better attendance, better \
concentration, fewer children too hungry to learn.\n\n\
The scheme the council is debating would cost less per child per year than one GP appointment. \
It should pass.",
        tags: &["Health", "Education"],
        author: 2,
        hours_ago: 150,
        status: ArticleStatus::Published,
        featured: false,
        image: None,
    },
    DemoArticle {
        title: "Teach the river before you build on it",
        subtitle: "Flood maps are public. Most of the people who live on the flood plain have never seen one.",
        body: "Three of the new estates by the river sit on land that flooded in 1968 and 2007. Their buyers \
were not told, and their children learn the river's history in no school.\n\n\
A lesson on the local flood map costs nothing. So does publishing it on every planning notice.",
        tags: &["Climate", "Education"],
        author: 1,
        hours_ago: 200,
        status: ArticleStatus::Published,
        featured: false,
        image: None,
    },
    DemoArticle {
        title: "The market hall needs tenants, not another consultation",
        subtitle: "Half the stalls are empty. Lower rents for the first two years would fill them.",
        body: "The market hall was restored at great cost and opened to great applause. Two years on, half \
of its stalls are shuttered.\n\n\
Traders say the rent is the problem. The council says a consultation will find out. Try the cheaper \
experiment first: halve the rent for new tenants for two years and count the open shutters.",
        tags: &["Economy", "Cities", "Culture"],
        author: 2,
        hours_ago: 260,
        status: ArticleStatus::Published,
        featured: false,
        image: None,
    },
    DemoArticle {
        title: "What the river festival should learn from last summer",
        subtitle: "Draft: waiting for the organisers' figures.",
        body: "Notes for a piece on crowd flow, toilets and the last bus home.",
        tags: &["Cities"],
        author: 1,
        hours_ago: 0,
        status: ArticleStatus::Draft,
        featured: false,
        image: None,
    },
    DemoArticle {
        title: "Budget week: the three numbers to watch",
        subtitle: "Scheduled for Monday morning.",
        body: "Housing, transport and the reserve: where the real choices are.",
        tags: &["Economy"],
        author: 2,
        hours_ago: -48,
        status: ArticleStatus::Published,
        featured: false,
        image: None,
    },
];
